//! The one place where API shapes ([`crate::api`]) and wire shapes (`bundle_format::records`)
//! meet. Inbound, every field is validated with the `filing` crate's rules and every problem is
//! collected, so a submitter sees the whole list at once; outbound, a stored version is shown in
//! API form (lossless: converting it back yields the same record).

use std::collections::HashSet;

use base64::Engine as _;
use bundle_format::records as rec;

use crate::api;
use crate::api::Problem;
use filing::{self as validate, Rule};

/// Collects problems with their field paths.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Adds a problem.
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    fn rule(&mut self, field: &str, rule: Rule) {
        self.add(field, rule.code, rule.message);
    }

    fn check<T: Default>(&mut self, field: &str, result: Result<T, Rule>) -> T {
        match result {
            Ok(value) => value,
            Err(rule) => {
                self.rule(field, rule);
                T::default()
            }
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A provider check's fields: a well-formed receipt and content hash, and a reason exactly
/// when the submission is returned.
fn provider_check(
    problems: &mut Problems,
    at: &str,
    receipt: &str,
    version: u32,
    content_hash: &str,
    decision: api::ProviderDecision,
    reason: Option<&str>,
) -> rec::Submission {
    let receipt = problems.check(&format!("{at}.receipt"), validate::receipt_id(receipt));
    let mut hash = [0; 32];
    if hex::decode_to_slice(content_hash, &mut hash).is_err() {
        problems.add(
            &format!("{at}.content_hash"),
            "provider_check.content_hash",
            "must be the checked version's content hash, 64 hex digits".to_owned(),
        );
    }
    let decision = match (decision, reason) {
        (api::ProviderDecision::Confirm, None) => rec::ProviderDecision::Confirm,
        (api::ProviderDecision::Confirm, Some(_)) => {
            problems.add(
                &format!("{at}.reason"),
                "provider_check.reason_on_confirm",
                "a confirmation carries no reason; return the submission to give one".to_owned(),
            );
            rec::ProviderDecision::Confirm
        }
        (api::ProviderDecision::Return, reason) => rec::ProviderDecision::Return {
            reason: text(
                problems,
                &format!("{at}.reason"),
                reason.unwrap_or_default(),
            ),
        },
    };
    rec::Submission::ProviderCheck {
        receipt,
        version,
        content_hash: hash,
        decision,
    }
}

fn text(problems: &mut Problems, field: &str, value: &str) -> String {
    problems.check(field, validate::required_text(value, rec::MAX_TEXT_BYTES))
}

/// Reports every domain listed again in one submission, at the later listing; `listed` holds
/// each well-formed domain with its field path, in the order they were typed.
fn repeated_domains(problems: &mut Problems, listed: &[(String, String)]) {
    let mut listings: Vec<filing::domain::Listing<'_>> = listed
        .iter()
        .enumerate()
        .map(|(k, (_, domain))| (k, 0, domain.as_str()))
        .collect();
    for (k, _, domain) in filing::domain::repeated(&mut listings) {
        problems.rule(&listed[k].0, filing::domain::listed_twice(domain));
    }
}

/// Reports a list at `field` that is longer than `max`, then yields its first `max` entries,
/// each with its own field path (`field[i]`); entries past the limit are never looked at.
fn bounded<'a, T>(
    problems: &mut Problems,
    field: &str,
    list: &'a [T],
    max: usize,
) -> impl Iterator<Item = (String, &'a T)> + use<'a, T> {
    if list.len() > max {
        problems.add(
            field,
            "list.too_long",
            format!("{} entries; at most {max}", list.len()),
        );
    }
    let field = field.to_owned();
    list.iter()
        .take(max)
        .enumerate()
        .map(move |(i, entry)| (format!("{field}[{i}]"), entry))
}

/// Context a submission is checked in.
#[derive(Clone, Debug)]
pub struct Context {
    /// Account name of the access provider submitting, if the submitter is one; websites it
    /// submits must name it as their provider.
    pub access_provider: Option<String>,
    /// The largest scan accepted, in bytes (`limits.max_scan_bytes`).
    pub max_scan_bytes: usize,
}

/// Validates a submission body and converts it to its wire form, or returns every problem.
pub fn submission(
    body: &api::SubmissionBody,
    context: &Context,
) -> Result<rec::Submission, Vec<Problem>> {
    let mut problems = Problems::default();
    let at = "submission";
    let converted = match body {
        api::SubmissionBody::NewFiling { filing } => {
            let path = format!("{at}.filing");
            if filing.attachments.iter().any(|a| a.pre_approval.is_some()) {
                // A scan tied to a pre-approval entry needs the wire version 5 variant; the
                // scans travel there, with what they show.
                let without_scans = api::FilingBody {
                    attachments: Vec::new(),
                    ..filing.clone()
                };
                let converted = self::filing(&mut problems, &path, &without_scans, context);
                let websites: Vec<&rec::Website> = converted.websites.iter().collect();
                let scans = scans(
                    &mut problems,
                    &format!("{path}.attachments"),
                    &filing.attachments,
                    &websites,
                    context,
                );
                rec::Submission::NewFilingWithScans {
                    filing: converted,
                    scans,
                }
            } else {
                rec::Submission::NewFiling(self::filing(&mut problems, &path, filing, context))
            }
        }
        api::SubmissionBody::Change {
            filing_number,
            change,
            attachments,
        } => {
            let number = problems.check(
                &format!("{at}.filing_number"),
                validate::filing_number(filing_number, Some(false)),
            );
            let path = format!("{at}.change");
            let change = match change {
                api::ChangeBody::Subject { subject } => rec::Change::Subject(self::subject(
                    &mut problems,
                    &format!("{path}.subject"),
                    subject,
                )),
                api::ChangeBody::Website {
                    website_number,
                    website,
                } => {
                    let website_number =
                        website_number_of(&mut problems, &path, website_number, &number);
                    let website =
                        website_alone(&mut problems, &format!("{path}.website"), website, context);
                    rec::Change::Website {
                        website_number,
                        website,
                    }
                }
                api::ChangeBody::Access {
                    website_number,
                    access,
                } => {
                    let website_number =
                        website_number_of(&mut problems, &path, website_number, &number);
                    let access =
                        self::access(&mut problems, &format!("{path}.access"), access, context);
                    rec::Change::Access {
                        website_number,
                        access,
                    }
                }
                api::ChangeBody::AddedWebsite { website } => {
                    let website =
                        website_alone(&mut problems, &format!("{path}.website"), website, context);
                    rec::Change::AddedWebsite(website)
                }
            };
            if attachments.is_empty() {
                rec::Submission::Change {
                    filing_number: number,
                    change,
                }
            } else {
                let websites: Vec<&rec::Website> = match &change {
                    rec::Change::Website { website, .. } | rec::Change::AddedWebsite(website) => {
                        vec![website]
                    }
                    rec::Change::Subject(_) | rec::Change::Access { .. } => Vec::new(),
                };
                let scans = scans(
                    &mut problems,
                    &format!("{at}.attachments"),
                    attachments,
                    &websites,
                    context,
                );
                rec::Submission::ChangeWithScans {
                    filing_number: number,
                    change,
                    scans,
                }
            }
        }
        api::SubmissionBody::Cancellation {
            filing_number,
            scope,
            reason,
        } => {
            let website = match scope {
                api::CancellationScope::Subject => Some(false),
                api::CancellationScope::Website | api::CancellationScope::Access => Some(true),
            };
            rec::Submission::Cancellation {
                filing_number: problems.check(
                    &format!("{at}.filing_number"),
                    validate::filing_number(filing_number, website),
                ),
                scope: cancellation_scope(*scope),
                reason: text(&mut problems, &format!("{at}.reason"), reason),
            }
        }
        api::SubmissionBody::Withdrawal { receipt, reason } => rec::Submission::Withdrawal {
            receipt: problems.check(&format!("{at}.receipt"), validate::receipt_id(receipt)),
            reason: text(&mut problems, &format!("{at}.reason"), reason),
        },
        api::SubmissionBody::ProviderCheck {
            receipt,
            version,
            content_hash,
            decision,
            reason,
        } => provider_check(
            &mut problems,
            at,
            receipt,
            *version,
            content_hash,
            *decision,
            reason.as_deref(),
        ),
    };
    if problems.is_empty() {
        Ok(converted)
    } else {
        Err(problems.into_vec())
    }
}

/// Checks a website a change names on its own (not in a filing's list of websites): the domains
/// it lists twice are reported here.
fn website_alone(
    problems: &mut Problems,
    at: &str,
    website: &api::WebsiteBody,
    context: &Context,
) -> rec::Website {
    let mut listed = Vec::new();
    let website = self::website(problems, at, website, None, &mut listed, context);
    repeated_domains(problems, &listed);
    website
}

/// Checks the `website_number` a change at `at` names: a website's number under the filing's.
fn website_number_of(
    problems: &mut Problems,
    at: &str,
    value: &str,
    subject_number: &str,
) -> String {
    let field = &format!("{at}.website_number");
    let number = problems.check(field, validate::filing_number(value, Some(true)));
    if !number.is_empty() && !subject_number.is_empty() {
        problems.check(field, filing::number::website_of(&number, subject_number));
    }
    number
}

fn filing(
    problems: &mut Problems,
    at: &str,
    filing: &api::FilingBody,
    context: &Context,
) -> rec::Filing {
    let subject = self::subject(problems, &format!("{at}.subject"), &filing.subject);
    if filing.websites.is_empty() {
        problems.add(
            &format!("{at}.websites"),
            "websites.required",
            "a filing lists at least one website",
        );
    }
    let mut listed = Vec::new();
    let mut website_names = HashSet::new();
    let websites: Vec<rec::Website> = bounded(
        problems,
        &format!("{at}.websites"),
        &filing.websites,
        rec::MAX_WEBSITES,
    )
    .map(|(path, website)| {
        if !website_names.insert(website.name.trim().to_owned()) {
            problems.add(
                &format!("{path}.name"),
                "website.duplicate_name",
                format!("{:?} is listed twice in this filing", website.name),
            );
        }
        if website.name.trim() == filing.subject.name.trim()
            && filing.subject.nature != api::SubjectNature::Individual
        {
            problems.add(
                &format!("{at}.subject.name"),
                "subject.name_is_website",
                "the subject's name is the registered name, not the website's name",
            );
        }
        self::website(
            problems,
            &path,
            website,
            Some(&subject),
            &mut listed,
            context,
        )
    })
    .collect();
    repeated_domains(problems, &listed);
    let attachments = bounded(
        problems,
        &format!("{at}.attachments"),
        &filing.attachments,
        rec::MAX_ATTACHMENTS,
    )
    .map(|(path, attachment)| self::attachment(problems, &path, attachment, context))
    .collect();
    rec::Filing {
        subject,
        websites,
        attachments,
    }
}

/// The scans of a submission that lists `websites`, each with what it shows: a pre-approval
/// document names a listed website and one of its pre-approval entries.
fn scans(
    problems: &mut Problems,
    at: &str,
    attachments: &[api::AttachmentBody],
    websites: &[&rec::Website],
    context: &Context,
) -> Vec<rec::Scan> {
    bounded(problems, at, attachments, rec::MAX_ATTACHMENTS)
        .map(|(path, attachment)| {
            let shows = match attachment.pre_approval {
                None => rec::ScanOf::Submission,
                Some(entry) => {
                    let field = format!("{path}.pre_approval");
                    let item = pre_approval_item(entry.item);
                    let listed = usize::try_from(entry.website)
                        .ok()
                        .and_then(|i| websites.get(i));
                    match listed {
                        None => problems.add(
                            &format!("{field}.website"),
                            "attachment.unknown_website",
                            format!(
                                "website {} is not listed; the submission lists {}",
                                entry.website,
                                websites.len()
                            ),
                        ),
                        Some(website) if !website.pre_approvals.iter().any(|p| p.item == item) => {
                            problems.add(
                                &format!("{field}.item"),
                                "attachment.unknown_pre_approval",
                                format!(
                                    "website {} lists no {} pre-approval",
                                    entry.website,
                                    pre_approval_name(item)
                                ),
                            )
                        }
                        Some(_) => {}
                    }
                    if attachment.kind != api::AttachmentKind::PreApproval {
                        problems.add(
                            &format!("{path}.kind"),
                            "attachment.kind",
                            "a scan of a pre-approval entry is of kind pre_approval",
                        );
                    }
                    rec::ScanOf::PreApproval {
                        website: entry.website,
                        item,
                    }
                }
            };
            rec::Scan {
                shows,
                attachment: self::attachment(problems, &path, attachment, context),
            }
        })
        .collect()
}

fn attachment(
    problems: &mut Problems,
    at: &str,
    attachment: &api::AttachmentBody,
    context: &Context,
) -> rec::Attachment {
    let field = format!("{at}.base64");
    let too_large = |problems: &mut Problems| {
        problems.add(
            &field,
            "attachment.too_large",
            format!(
                "scans are at most {} KiB here (limits.max_scan_bytes)",
                context.max_scan_bytes / 1024
            ),
        );
    };
    // Decoding is bounded: the encoded length is checked before any allocation.
    let max_encoded = context.max_scan_bytes.div_ceil(3) * 4;
    let bytes = if attachment.base64.trim().len() > max_encoded {
        too_large(problems);
        Vec::new()
    } else {
        match base64::engine::general_purpose::STANDARD.decode(attachment.base64.trim()) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.add(&field, "attachment.base64", format!("not base64: {e}"));
                Vec::new()
            }
        }
    };
    let media_type = attachment.media_type.trim().to_ascii_lowercase();
    if !matches!(media_type.as_str(), "image/jpeg" | "image/png") {
        problems.add(
            &format!("{at}.media_type"),
            "attachment.media_type",
            "scans are image/jpeg or image/png",
        );
    } else if !bytes.is_empty() {
        match filing::scan::check(&media_type, &bytes, context.max_scan_bytes) {
            Ok(()) => {}
            Err(filing::scan::ScanProblem::TooLarge { .. }) => too_large(problems),
            Err(problem) => problems.add(&field, "attachment.not_image", problem.to_string()),
        }
    }
    rec::Attachment {
        kind: attachment_kind(attachment.kind),
        media_type,
        bytes,
    }
}

fn subject(problems: &mut Problems, at: &str, subject: &api::SubjectBody) -> rec::Subject {
    let nature = subject_nature(subject.nature);
    let certificate_type = certificate_type(subject.certificate_type);
    let name_field = format!("{at}.name");
    let name = if nature == rec::SubjectNature::Individual {
        problems.check(
            &name_field,
            validate::person_name(&subject.name, certificate_type),
        )
    } else {
        let name = text(problems, &name_field, &subject.name);
        if validate::looks_like_domain(&name) {
            problems.add(
                &name_field,
                "subject.name_is_domain",
                "the subject's name is its registered name, not a domain",
            );
        } else if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_whitespace())
        {
            problems.add(
                &name_field,
                "subject.name_is_number",
                "the subject's name is its registered name, not a number",
            );
        } else if !name.is_empty() && name.chars().count() < 4 {
            problems.add(
                &name_field,
                "subject.name_too_short",
                "give the full registered name",
            );
        }
        name
    };
    if !validate::certificate_types_for(nature).contains(&certificate_type) {
        problems.add(
            &format!("{at}.certificate_type"),
            "subject.certificate_type_mismatch",
            format!(
                "a subject of nature {} files with {}",
                nature_name(nature),
                validate::certificate_types_for(nature)
                    .iter()
                    .map(|t| certificate_type_name(*t))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        );
    }
    let certificate_number = problems.check(
        &format!("{at}.certificate_number"),
        validate::certificate_number(certificate_type, &subject.certificate_number),
    );
    let region_code = problems.check(
        &format!("{at}.region_code"),
        validate::region_code(&subject.region_code),
    );
    let address = problems.check(
        &format!("{at}.address"),
        validate::address(&subject.address),
    );
    let address = if address.len() > rec::MAX_TEXT_BYTES {
        text(problems, &format!("{at}.address"), &address)
    } else {
        address
    };
    let investor = text(problems, &format!("{at}.investor"), &subject.investor);
    let principal = person(problems, &format!("{at}.principal"), &subject.principal);
    if nature == rec::SubjectNature::Individual
        && !name.is_empty()
        && !principal.name.is_empty()
        && name != principal.name
    {
        problems.add(
            &format!("{at}.principal.name"),
            "subject.individual_principal",
            "an individual is the principal of their own filing",
        );
    }
    rec::Subject {
        name,
        nature,
        certificate_type,
        certificate_number,
        region_code,
        address,
        investor,
        principal,
    }
}

fn person(problems: &mut Problems, at: &str, person: &api::PersonBody) -> rec::Person {
    let certificate_type = certificate_type(person.certificate_type);
    if !validate::PERSON_CERTIFICATE_TYPES.contains(&certificate_type) {
        problems.add(
            &format!("{at}.certificate_type"),
            "person.certificate_type",
            "a person identifies with a resident ID, passport or travel permit",
        );
    }
    let name = problems.check(
        &format!("{at}.name"),
        validate::person_name(&person.name, certificate_type),
    );
    let certificate_number = problems.check(
        &format!("{at}.certificate_number"),
        validate::certificate_number(certificate_type, &person.certificate_number),
    );
    if person.mobile_phones.is_empty() {
        problems.add(
            &format!("{at}.mobile_phones"),
            "phone.mobile_required",
            "give at least one mobile number",
        );
    }
    // Both lists are checked for length before either's numbers are.
    let mobile_entries = bounded(
        problems,
        &format!("{at}.mobile_phones"),
        &person.mobile_phones,
        rec::MAX_SMALL_LIST,
    );
    let office_entries = bounded(
        problems,
        &format!("{at}.office_phones"),
        &person.office_phones,
        rec::MAX_SMALL_LIST,
    );
    let mobile_phones = mobile_entries
        .map(|(field, phone)| problems.check(&field, validate::mobile_phone(phone)))
        .collect();
    let office_phones = office_entries
        .map(|(field, phone)| problems.check(&field, validate::office_phone(phone)))
        .collect();
    let email = problems.check(&format!("{at}.email"), validate::email(&person.email));
    rec::Person {
        name,
        certificate_type,
        certificate_number,
        mobile_phones,
        office_phones,
        email,
    }
}

fn website(
    problems: &mut Problems,
    at: &str,
    website: &api::WebsiteBody,
    subject: Option<&rec::Subject>,
    listed: &mut Vec<(String, String)>,
    context: &Context,
) -> rec::Website {
    let name_field = format!("{at}.name");
    let name = text(problems, &name_field, &website.name);
    for rule in filing::website::name_rules(&name, subject.map(|s| s.nature)) {
        problems.rule(&name_field, rule);
    }

    let mut domains = Vec::new();
    for (field, typed) in bounded(
        problems,
        &format!("{at}.domains"),
        &website.domains,
        rec::MAX_DOMAINS_PER_WEBSITE,
    ) {
        match validate::domain(typed) {
            Ok(ascii) => {
                listed.push((field, ascii.clone()));
                domains.push(ascii);
            }
            Err(rule) => problems.rule(&field, rule),
        }
    }

    // The list's length is reported before the access's problems; its URLs, after.
    let home_url_entries = bounded(
        problems,
        &format!("{at}.home_urls"),
        &website.home_urls,
        rec::MAX_HOME_URLS_PER_WEBSITE,
    );
    let access = self::access(problems, &format!("{at}.access"), &website.access, context);
    let mut home_urls = Vec::new();
    for (field, typed) in home_url_entries {
        match validate::home_url(typed) {
            Ok((url, host)) => {
                problems.check(
                    &field,
                    filing::website::home_url_host_listed(&host, &domains, &access.ip_ranges),
                );
                home_urls.push(url);
            }
            Err(rule) => problems.rule(&field, rule),
        }
    }
    problems.check(
        &format!("{at}.domains"),
        filing::website::has_address(&domains, &access.ip_ranges),
    );

    if website.service_types.is_empty() {
        problems.add(
            &format!("{at}.service_types"),
            "service_type.required",
            "declare at least one service type",
        );
    }
    let mut service_types: Vec<rec::ServiceType> = Vec::new();
    for (field, service) in bounded(
        problems,
        &format!("{at}.service_types"),
        &website.service_types,
        rec::MAX_SMALL_LIST,
    ) {
        let service = service_type(*service);
        if service_types.contains(&service) {
            problems.add(&field, "service_type.duplicate", "listed twice");
        } else {
            service_types.push(service);
        }
    }
    problems.check(
        &format!("{at}.service_types"),
        filing::website::public_affairs_service(&service_types, subject.map(|s| s.nature)),
    );

    let pre_approvals: Vec<rec::PreApproval> = bounded(
        problems,
        &format!("{at}.pre_approvals"),
        &website.pre_approvals,
        rec::MAX_SMALL_LIST,
    )
    .map(|(path, approval)| rec::PreApproval {
        item: pre_approval_item(approval.item),
        document_number: text(
            problems,
            &format!("{path}.document_number"),
            &approval.document_number,
        ),
    })
    .collect();
    let held: Vec<rec::PreApprovalItem> = pre_approvals.iter().map(|p| p.item).collect();
    for rule in filing::website::missing_pre_approvals(
        &name,
        &service_types,
        &held,
        service_type_name,
        pre_approval_name,
    ) {
        problems.rule(&format!("{at}.pre_approvals"), rule);
    }
    problems.check(
        &format!("{at}.service_types"),
        filing::website::forum_declared(&name, &domains, &service_types),
    );

    let principal = person(problems, &format!("{at}.principal"), &website.principal);
    rec::Website {
        name,
        home_urls,
        domains,
        service_types,
        pre_approvals,
        access,
        principal,
    }
}

fn access(
    problems: &mut Problems,
    at: &str,
    access: &api::AccessBody,
    context: &Context,
) -> rec::Access {
    let provider = text(problems, &format!("{at}.provider"), &access.provider);
    if let Some(own) = &context.access_provider
        && !provider.is_empty()
        && provider != *own
    {
        problems.add(
            &format!("{at}.provider"),
            "access.other_provider",
            format!(
                "an access provider submits only websites it connects; this one names {provider:?}"
            ),
        );
    }
    let server_region_code = problems.check(
        &format!("{at}.server_region_code"),
        validate::region_code(&access.server_region_code),
    );
    let mut ip_ranges: Vec<rec::IpRange> = Vec::new();
    for (field, typed) in bounded(
        problems,
        &format!("{at}.ip_ranges"),
        &access.ip_ranges,
        rec::MAX_IP_RANGES_PER_WEBSITE,
    ) {
        match validate::ip_range(typed) {
            Ok(range) => {
                if ip_ranges.contains(&range) {
                    problems.add(&field, "ip.duplicate", "listed twice");
                }
                ip_ranges.push(range);
            }
            Err(rule) => problems.rule(&field, rule),
        }
    }
    rec::Access {
        provider,
        method: access_method(access.method),
        server_region_code,
        ip_ranges,
    }
}

// ----- enum mappings, both directions -----

macro_rules! enum_map {
    ($to_rec:ident, $to_api:ident, $name:ident, $api:ty, $rec:ty, [$($variant:ident => $text:literal),+ $(,)?]) => {
        fn $to_rec(value: $api) -> $rec {
            match value {
                $(<$api>::$variant => <$rec>::$variant,)+
            }
        }
        fn $to_api(value: $rec) -> $api {
            match value {
                $(<$rec>::$variant => <$api>::$variant,)+
            }
        }
        #[allow(dead_code, reason = "generated for every enum; not every name is shown")]
        fn $name(value: $rec) -> &'static str {
            match value {
                $(<$rec>::$variant => $text,)+
            }
        }
    };
}

enum_map!(subject_nature, subject_nature_api, nature_name, api::SubjectNature, rec::SubjectNature, [
    Enterprise => "enterprise", Government => "government", PublicInstitution => "public_institution",
    SocialGroup => "social_group", Individual => "individual", Military => "military",
]);
enum_map!(certificate_type, certificate_type_api, certificate_type_name, api::CertificateType, rec::CertificateType, [
    UnifiedSocialCreditCode => "unified_social_credit_code", BusinessLicense => "business_license",
    OrganizationCode => "organization_code", PublicInstitutionCertificate => "public_institution_certificate",
    SocialGroupCertificate => "social_group_certificate", MilitaryCode => "military_code",
    ResidentId => "resident_id", Passport => "passport", HongKongMacaoPermit => "hong_kong_macao_permit",
    TaiwanPermit => "taiwan_permit",
]);
enum_map!(service_type, service_type_api, service_type_name, api::ServiceType, rec::ServiceType, [
    Showcase => "showcase", Portal => "portal", News => "news", Forum => "forum", Blog => "blog",
    Ecommerce => "ecommerce", Education => "education", Medical => "medical", Drugs => "drugs",
    Culture => "culture", Broadcasting => "broadcasting", Publishing => "publishing",
    PublicAffairs => "public_affairs", Other => "other",
]);
enum_map!(pre_approval_item, pre_approval_item_api, pre_approval_name, api::PreApprovalItem, rec::PreApprovalItem, [
    News => "news", Publishing => "publishing", Education => "education", Medical => "medical",
    Drugs => "drugs", Culture => "culture", Broadcasting => "broadcasting",
]);
enum_map!(access_method, access_method_api, access_method_name, api::AccessMethod, rec::AccessMethod, [
    Dedicated => "dedicated", Colocation => "colocation", VirtualHost => "virtual_host", Cloud => "cloud", Other => "other",
]);
enum_map!(attachment_kind, attachment_kind_api, attachment_kind_name, api::AttachmentKind, rec::AttachmentKind, [
    SubjectCertificate => "subject_certificate", PrincipalIdentity => "principal_identity",
    PreApproval => "pre_approval", PrincipalPhoto => "principal_photo", Other => "other",
]);
enum_map!(cancellation_scope, cancellation_scope_api, cancellation_scope_name, api::CancellationScope, rec::CancellationScope, [
    Subject => "subject", Website => "website", Access => "access",
]);

/// The key one subject is known by across filings: its certificate type and number.
pub fn subject_key(subject: &rec::Subject) -> String {
    format!(
        "{}:{}",
        certificate_type_name(subject.certificate_type),
        subject.certificate_number
    )
}

mod to_api;
pub use to_api::{approved_record_to_api, subject_to_api, submission_to_api, website_to_api};

/// Parses an enum value of the API by its JSON name (for CSV and XLSX cells).
pub fn parse_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).ok()
}
