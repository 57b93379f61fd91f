//! Free text fields: required and bounded text, complete addresses.

use crate::{Rule, person::is_cjk, rule};

/// Text that must be present and at most `max` characters.
pub fn required_text(input: &str, max_bytes: usize) -> Result<String, Rule> {
    let value = input.trim();
    if value.is_empty() {
        return Err(rule("text.required", "this field is required"));
    }
    if value.len() > max_bytes {
        return Err(rule(
            "text.too_long",
            format!("{} bytes; at most {max_bytes}", value.len()),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(rule(
            "text.control_characters",
            "contains control characters",
        ));
    }
    Ok(value.to_owned())
}

/// A complete address: long enough and, in Chinese, down to a street number (号) or a village
/// (村/组).
pub fn address(input: &str) -> Result<String, Rule> {
    let value = input.trim();
    let chars = value.chars().count();
    let has_cjk = value.chars().any(is_cjk);
    let complete = if has_cjk {
        chars >= 8
            && ["号", "村", "组", "栋", "室"]
                .iter()
                .any(|m| value.contains(m))
    } else {
        chars >= 12 && value.chars().any(|c| c.is_ascii_digit())
    };
    if !complete {
        return Err(rule(
            "address.incomplete",
            format!(
                "{value:?} is incomplete: give the street and number (or the village, in the country)"
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn addresses_must_be_complete() {
        assert!(address("北京市朝阳区建国路88号").is_ok());
        assert!(address("浙江省杭州市余杭区径山镇小古城村").is_ok());
        assert_eq!(broken(address("北京市朝阳区")), "address.incomplete");
    }
}
