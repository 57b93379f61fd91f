//! The text of the electronic filing certificate (ICP备案电子证书) that approval issues and the
//! site owner publishes at `/cert/bazs.cert`, sealed as a signify embedded-signature file by an
//! `inner-cert` key. The inner side renders it; whoever checks a published certificate (the
//! authority's crawler, `sluice-outer check-site`) parses it back. One format, written here.
//!
//! ```text
//! ICP备案电子证书 / ICP filing certificate
//! serial: 17
//! filing-number: 京ICP备2026000017号
//! subject: 北京青山科技有限公司
//! website: 京ICP备2026000017号-1 青山官网
//!   domain: qingshan.example.cn
//! issued: 2026-12-07T10:00:00Z
//! expires: 2027-12-07T10:00:00Z
//! ```

use std::fmt::Write as _;

/// The first line of every certificate text.
pub const TITLE: &str = "ICP备案电子证书 / ICP filing certificate";
/// The most websites and domains a parsed certificate may list (each, in all).
pub const MAX_ENTRIES: usize = 4096;

/// One website a certificate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertifiedWebsite {
    /// The website's filing number (`…号-N`).
    pub number: String,
    /// Its name.
    pub name: String,
    /// Its domains, lower case.
    pub domains: Vec<String>,
}

/// What an electronic certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectronicCertificate {
    /// The certificate's serial number.
    pub serial: i64,
    /// The filing number.
    pub filing_number: String,
    /// The subject's name.
    pub subject: String,
    /// The websites, in order.
    pub websites: Vec<CertifiedWebsite>,
    /// When it was issued, Unix seconds.
    pub issued: i64,
    /// When it expires (one year after the filing's last approval), Unix seconds.
    pub expires: i64,
}

impl ElectronicCertificate {
    /// The text that is signed.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{TITLE}");
        let _ = writeln!(text, "serial: {}", self.serial);
        let _ = writeln!(text, "filing-number: {}", self.filing_number);
        let _ = writeln!(text, "subject: {}", self.subject);
        for website in &self.websites {
            let _ = writeln!(text, "website: {} {}", website.number, website.name);
            for domain in &website.domains {
                let _ = writeln!(text, "  domain: {domain}");
            }
        }
        let _ = writeln!(text, "issued: {}", keys::time::rfc3339(self.issued));
        let _ = writeln!(text, "expires: {}", keys::time::rfc3339(self.expires));
        text
    }

    /// Parses a certificate's signed text; the error names the line and what is wrong.
    pub fn parse(text: &str) -> Result<ElectronicCertificate, String> {
        let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
        let mut next = |what: &str| {
            lines
                .next()
                .ok_or_else(|| format!("the text ends before its {what} line"))
        };
        let (_, title) = next("title")?;
        if title != TITLE {
            return Err(format!("line 1 is not `{TITLE}`"));
        }
        let field = |(number, line): (usize, &str), key: &str| -> Result<String, String> {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(": "))
                .map(str::to_owned)
                .ok_or_else(|| format!("line {number}: expected `{key}: …`"))
        };
        let serial_line = next("serial")?;
        let serial = field(serial_line, "serial")?
            .parse()
            .map_err(|_| format!("line {}: the serial is not a number", serial_line.0))?;
        let filing_number = field(next("filing-number")?, "filing-number")?;
        let subject = field(next("subject")?, "subject")?;
        let mut websites: Vec<CertifiedWebsite> = Vec::new();
        let mut entries = 0usize;
        let issued_line = loop {
            let (number, line) = next("issued")?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} websites and domains"));
            }
            if let Some(domain) = line.strip_prefix("  domain: ") {
                let website = websites
                    .last_mut()
                    .ok_or_else(|| format!("line {number}: a domain before any website"))?;
                website.domains.push(domain.to_owned());
            } else if let Some(rest) = line.strip_prefix("website: ") {
                let (website_number, name) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("line {number}: expected `website: NUMBER NAME`"))?;
                websites.push(CertifiedWebsite {
                    number: website_number.to_owned(),
                    name: name.to_owned(),
                    domains: Vec::new(),
                });
            } else {
                break (number, line);
            }
        };
        let time = |(number, line): (usize, &str), key: &str| -> Result<i64, String> {
            let value = field((number, line), key)?;
            keys::time::parse_rfc3339(&value)
                .ok_or_else(|| format!("line {number}: {key} is not an RFC 3339 time"))
        };
        let issued = time(issued_line, "issued")?;
        let expires = time(next("expires")?, "expires")?;
        if let Some((number, _)) = lines.next() {
            return Err(format!("line {number}: text after the expiry line"));
        }
        Ok(ElectronicCertificate {
            serial,
            filing_number,
            subject,
            websites,
            issued,
            expires,
        })
    }

    /// Whether the certificate names `domain` (compared in lower case) for one of its websites.
    pub fn names_domain(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        self.websites
            .iter()
            .any(|website| website.domains.contains(&domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ElectronicCertificate {
        ElectronicCertificate {
            serial: 17,
            filing_number: "京ICP备2026000017号".to_owned(),
            subject: "北京青山科技有限公司".to_owned(),
            websites: vec![CertifiedWebsite {
                number: "京ICP备2026000017号-1".to_owned(),
                name: "青山 官网".to_owned(),
                domains: vec!["qingshan.example.cn".to_owned(), "qs.example.cn".to_owned()],
            }],
            issued: 1_796_000_000,
            expires: 1_827_536_000,
        }
    }

    #[test]
    fn a_rendered_certificate_parses_back() {
        let certificate = sample();
        let text = certificate.render();
        assert!(text.contains("  domain: qs.example.cn\n"));
        assert_eq!(ElectronicCertificate::parse(&text).unwrap(), certificate);
        assert!(certificate.names_domain("QS.example.cn"));
        assert!(!certificate.names_domain("example.cn"));
    }

    #[test]
    fn a_damaged_text_names_its_line() {
        let text = sample().render().replace("serial: 17", "serial: x");
        assert_eq!(
            ElectronicCertificate::parse(&text).unwrap_err(),
            "line 2: the serial is not a number"
        );
        let text = format!("{}extra\n", sample().render());
        assert!(
            ElectronicCertificate::parse(&text)
                .unwrap_err()
                .contains("after the expiry")
        );
    }
}
