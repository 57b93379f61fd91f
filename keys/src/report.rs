//! Error chains as the command-line tools print them.

/// The messages of `error` and of each of its causes, outermost first, leaving out a cause whose
/// message an outer one already contains. Several library errors name their cause in their own
/// message and also return it as their source (so that a caller printing only the outer error
/// still sees it); printed as a chain, that cause would otherwise appear two or three times.
pub fn messages(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut shown = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(current) = cause {
        let message = current.to_string();
        if !shown.iter().any(|outer| outer.contains(&message)) {
            shown.push(message);
        }
        cause = current.source();
    }
    shown
}

/// The error lines every Sluice tool prints on stderr for a failed command: `error: WHAT`, then
/// one `  caused by: WHY` line per cause in [`messages`], each ending in a newline.
pub fn lines(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    for (n, message) in messages(error).iter().enumerate() {
        text.push_str(if n == 0 { "error: " } else { "  caused by: " });
        text.push_str(message);
        text.push('\n');
    }
    text
}

/// [`messages`] joined with `": "`, the way the tools print an error on one line.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    messages(error).join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the configuration sluice.toml: {source}")]
    struct Repeats {
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("loading settings")]
    struct Context {
        source: Repeats,
    }

    #[test]
    fn a_cause_already_named_by_its_outer_error_is_printed_once() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Context {
            source: Repeats { source: missing },
        };
        assert_eq!(
            one_line(&error),
            "loading settings: cannot read the configuration sluice.toml: no such file"
        );
        assert_eq!(messages(&error).len(), 2);
        assert_eq!(
            lines(&error),
            "error: loading settings\n  caused by: cannot read the configuration sluice.toml: \
             no such file\n"
        );
    }
}
