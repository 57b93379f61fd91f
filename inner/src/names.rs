//! Names of the wire enums as stored in the database and shown to reviewers. These strings are
//! part of the schema: change them only with a migration.

use bundle_format::records::{
    AccessMethod, CertificateType, PreApprovalItem, ServiceType, SubjectNature,
};

/// The stored name of a subject nature.
pub fn nature(nature: SubjectNature) -> &'static str {
    match nature {
        SubjectNature::Enterprise => "enterprise",
        SubjectNature::Government => "government",
        SubjectNature::PublicInstitution => "public-institution",
        SubjectNature::SocialGroup => "social-group",
        SubjectNature::Individual => "individual",
        SubjectNature::Military => "military",
    }
}

/// The stored name of a certificate type.
pub fn certificate_type(kind: CertificateType) -> &'static str {
    match kind {
        CertificateType::UnifiedSocialCreditCode => "unified-social-credit-code",
        CertificateType::BusinessLicense => "business-license",
        CertificateType::OrganizationCode => "organization-code",
        CertificateType::PublicInstitutionCertificate => "public-institution-certificate",
        CertificateType::SocialGroupCertificate => "social-group-certificate",
        CertificateType::MilitaryCode => "military-code",
        CertificateType::ResidentId => "resident-id",
        CertificateType::Passport => "passport",
        CertificateType::HongKongMacaoPermit => "hong-kong-macao-permit",
        CertificateType::TaiwanPermit => "taiwan-permit",
    }
}

/// The stored name of a service type.
pub fn service_type(kind: ServiceType) -> &'static str {
    match kind {
        ServiceType::Showcase => "showcase",
        ServiceType::Portal => "portal",
        ServiceType::News => "news",
        ServiceType::Forum => "forum",
        ServiceType::Blog => "blog",
        ServiceType::Ecommerce => "ecommerce",
        ServiceType::Education => "education",
        ServiceType::Medical => "medical",
        ServiceType::Drugs => "drugs",
        ServiceType::Culture => "culture",
        ServiceType::Broadcasting => "broadcasting",
        ServiceType::Publishing => "publishing",
        ServiceType::PublicAffairs => "public-affairs",
        ServiceType::Other => "other",
    }
}

/// The stored name of an access method.
pub fn access_method(method: AccessMethod) -> &'static str {
    match method {
        AccessMethod::Dedicated => "dedicated",
        AccessMethod::Colocation => "colocation",
        AccessMethod::VirtualHost => "virtual-host",
        AccessMethod::Cloud => "cloud",
        AccessMethod::Other => "other",
    }
}

/// The stored name of a pre-approval item.
pub fn pre_approval_item(item: PreApprovalItem) -> &'static str {
    match item {
        PreApprovalItem::News => "news",
        PreApprovalItem::Publishing => "publishing",
        PreApprovalItem::Education => "education",
        PreApprovalItem::Medical => "medical",
        PreApprovalItem::Drugs => "drugs",
        PreApprovalItem::Culture => "culture",
        PreApprovalItem::Broadcasting => "broadcasting",
    }
}
