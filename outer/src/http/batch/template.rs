//! The columns of a batch file and the templates access providers download: CSV, and XLSX with
//! a notes sheet explaining each column.

/// The columns of a batch file, with a note for the template.
pub const COLUMNS: [(&str, &str); 22] = [
    (
        "on_behalf_of",
        "customer account or subject the row is filed for (optional)",
    ),
    ("subject_name", "full registered name of the organiser"),
    (
        "subject_nature",
        "enterprise | government | public_institution | social_group | individual | military",
    ),
    (
        "subject_certificate_type",
        "unified_social_credit_code | resident_id | …",
    ),
    ("subject_certificate_number", "number of that certificate"),
    ("subject_region_code", "six-digit GB/T 2260 code"),
    ("subject_address", "street and number, or village"),
    ("subject_investor", "investor or supervising body"),
    (
        "principal_name",
        "responsible person's real name (subject and website)",
    ),
    (
        "principal_certificate_type",
        "resident_id | passport | hong_kong_macao_permit | taiwan_permit",
    ),
    ("principal_certificate_number", "identity document number"),
    ("principal_mobile_phones", "mobile numbers separated by ;"),
    (
        "principal_office_phones",
        "office numbers with area code separated by ;",
    ),
    ("principal_email", "e-mail address"),
    ("website_name", "the website's name (not a domain)"),
    ("website_domains", "every domain served, separated by ;"),
    ("website_home_urls", "home URLs separated by ;"),
    (
        "website_service_types",
        "showcase | portal | news | forum | blog | ecommerce | … separated by ;",
    ),
    (
        "website_pre_approvals",
        "item:document number pairs separated by ;, e.g. news:国新网2026001",
    ),
    (
        "access_method",
        "dedicated | colocation | virtual_host | cloud | other",
    ),
    (
        "server_region_code",
        "six-digit code where the servers stand",
    ),
    (
        "ip_ranges",
        "addresses, CIDR blocks or first-last ranges separated by ;",
    ),
];

const EXAMPLE_ROW: [&str; 22] = [
    "",
    "杭州示例网络科技有限公司",
    "enterprise",
    "unified_social_credit_code",
    "91330100799655058B",
    "330106",
    "浙江省杭州市西湖区文三路90号",
    "杭州示例网络科技有限公司",
    "张三丰",
    "resident_id",
    "11010519491231002X",
    "13905711234",
    "0571-88216688",
    "zhangsanfeng@example.cn",
    "示例科技官网",
    "example.cn;www.example.cn",
    "https://www.example.cn/",
    "showcase",
    "",
    "cloud",
    "330106",
    "202.96.128.86",
];

/// Media type of XLSX files.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The batch template as CSV.
pub fn template_csv_bytes() -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    let written = writer
        .write_record(&header)
        .and_then(|()| writer.write_record(EXAMPLE_ROW));
    if written.is_err() {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

/// The batch template as XLSX: the header row, one example row, and a notes sheet.
pub fn template_xlsx_bytes() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("filings")?;
    for (col, ((name, _), example)) in COLUMNS.iter().zip(EXAMPLE_ROW).enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, col, *name, &bold)?;
        sheet.write_string(1, col, example)?;
        sheet.set_column_width(col, 24)?;
    }
    let notes = workbook.add_worksheet();
    notes.set_name("notes")?;
    notes.write_string_with_format(0, 0, "column", &bold)?;
    notes.write_string_with_format(0, 1, "what to enter", &bold)?;
    for (row, (name, help)) in COLUMNS.iter().enumerate() {
        let row = u32::try_from(row + 1).unwrap_or(u32::MAX);
        notes.write_string(row, 0, *name)?;
        notes.write_string(row, 1, *help)?;
    }
    workbook.save_to_buffer()
}
