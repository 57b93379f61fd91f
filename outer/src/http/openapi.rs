//! The OpenAPI 3.1 description served at `/api/openapi.json`. A test compares its paths with
//! [`super::served_routes`], so a route cannot be added without describing it.

use axum::Json;
use serde_json::{Value, json};

fn error_responses(codes: &[&str]) -> Value {
    let mut responses = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "Malformed request",
            "401" => "No valid token",
            "403" => "The token's account kind may not do this",
            "404" => "Not found",
            "409" => "Conflicts with the stored state",
            "413" => "Body or file too large, or too many rows",
            "422" => "Validation failed; every problem is listed",
            "429" => "Rate limit for this token exceeded",
            "410" => "It existed and was withdrawn for good",
            _ => "Error",
        };
        responses.insert(
            (*code).to_owned(),
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(responses)
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

/// Answers of an HTML account page: the page itself, or a page saying what is wrong.
fn page_responses(codes: &[&str]) -> Value {
    let mut responses = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "200" => "The page (HTML, Chinese and English)",
            "201" => "Created; the page says what (HTML)",
            "303" => "Done; go to the page in Location",
            "400" => "Malformed form or query (the page says which)",
            "401" => "Not logged in, or a wrong user name or password",
            "403" => {
                "The form's CSRF token is missing or wrong, it came from another site, or the account may not do this"
            }
            "404" => "No such token of this account",
            "409" => "The user name is taken, or the account holds its most tokens",
            "413" => "The form is larger than 16 KiB",
            "415" => "Not a URL-encoded form",
            "422" => "A field breaks a rule; the page names it beside the field",
            "429" => "Too many failed logins or e-mails; see Retry-After",
            "502" => "The SMTP relay did not take the e-mail",
            "503" => "No mail relay configured (registration and resets are off)",
            _ => "Error page",
        };
        responses.insert((*code).to_owned(), json!({"description": description}));
    }
    Value::Object(responses)
}

/// A URL-encoded form with these string fields, each at most `max` characters.
fn form_body(fields: &[(&str, u64)]) -> Value {
    let mut properties = serde_json::Map::new();
    for (name, max) in fields {
        properties.insert(
            (*name).to_owned(),
            json!({"type": "string", "maxLength": max}),
        );
    }
    properties.insert(
        "csrf".to_owned(),
        json!({"type": "string", "maxLength": 64}),
    );
    json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["csrf"], "properties": properties}}}})
}

/// The account pages (`outer::http::web`): server-rendered HTML forms for people in a
/// browser, each answered with a page, never JSON.
fn account_pages() -> Vec<(&'static str, Value)> {
    let anonymous = [
        "200", "303", "400", "403", "409", "413", "415", "422", "429", "502", "503",
    ];
    let logged_in = [
        "200", "201", "303", "400", "401", "403", "404", "409", "413", "415", "422", "429", "502",
        "503",
    ];
    let get = |summary: &str| json!({"summary": summary, "responses": page_responses(&["200", "303", "400"])});
    let post = |summary: &str, fields: &[(&str, u64)], codes: &[&str]| json!({"summary": summary, "requestBody": form_body(fields), "responses": page_responses(codes)});
    vec![
        (
            "/account",
            json!({"get": get("The logged-in account's page (login page otherwise)")}),
        ),
        (
            "/account/register",
            json!({
            "get": get("Registration form for website owners"),
            "post": post("Register; a verification code is e-mailed",
                &[("name", 32), ("email", 254), ("password", 128), ("password2", 128)], &anonymous)}),
        ),
        (
            "/account/verify",
            json!({
            "get": get("Form for the e-mailed verification code"),
            "post": post("Confirm the e-mail address with its code", &[("name", 32), ("code", 6)], &anonymous)}),
        ),
        (
            "/account/verify/resend",
            json!({
            "post": post("Send the verification code again", &[("name", 32)], &anonymous)}),
        ),
        (
            "/account/login",
            json!({
            "get": get("Login form"),
            "post": post("Log in; sets the session cookie", &[("name", 32), ("password", 128)], &anonymous)}),
        ),
        (
            "/account/logout",
            json!({"post": post("Log out; ends the session", &[], &logged_in)}),
        ),
        (
            "/account/reset",
            json!({
            "get": get("Form asking for a code to set a new password"),
            "post": post("E-mail a code to set a new password", &[("name", 32), ("email", 254)], &anonymous)}),
        ),
        (
            "/account/reset/confirm",
            json!({
            "get": get("Form for the code and the new password"),
            "post": post("Set a new password with the e-mailed code",
                &[("name", 32), ("code", 6), ("password", 128), ("password2", 128)], &anonymous)}),
        ),
        (
            "/account/password",
            json!({"post": post("Change the password",
            &[("current", 128), ("password", 128), ("password2", 128)], &logged_in)}),
        ),
        (
            "/account/delete",
            json!({"post": post("Delete the account", &[("password", 128)], &logged_in)}),
        ),
        (
            "/account/accounts",
            json!({"post": post(
            "Create an authority (ministry) or access-provider (authority) account",
            &[("name", 32), ("email", 254), ("province", 2)], &logged_in)}),
        ),
        (
            "/account/tokens",
            json!({"post": post("Issue an API token to this account", &[("label", 64)], &logged_in)}),
        ),
        (
            "/account/tokens/{id}/revoke",
            json!({"post": {
            "summary": "Revoke one of this account's API tokens",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": form_body(&[]), "responses": page_responses(&logged_in)}}),
        ),
        (
            "/account/filings",
            json!({"get": get("The logged-in account's own filings and their states")}),
        ),
        (
            "/account/filings/{receipt}/withdraw",
            json!({"post": {
            "summary": "Withdraw one of this account's submissions not yet reviewed (the API's checks)",
            "parameters": [{"name": "receipt", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": form_body(&[("reason", 500)]), "responses": page_responses(&logged_in)}}),
        ),
        (
            "/account/filings/cancel",
            json!({"post": post(
            "Ask for the cancellation of this account's approved subject or website (the API's checks)",
            &[("filing_number", 64), ("scope", 16), ("reason", 500)], &logged_in)}),
        ),
        (
            "/account/provider-checks",
            json!({"get": get("The filings awaiting the logged-in access provider's check (待接入商核验), each with its details and the forms to confirm or return it")}),
        ),
        (
            "/account/provider-checks/{receipt}",
            json!({"post": {
            "summary": "The logged-in access provider's check of the version the page showed: the API's provider_check submission, with its checks; the page then shows the check's receipt",
            "parameters": [{"name": "receipt", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": form_body(&[("version", 10), ("content_hash", 64), ("decision", 16), ("reason", 500)]),
            "responses": page_responses(&logged_in)}}),
        ),
        (
            "/account/records/{filing_number}",
            json!({"get": {
            "summary": "An approved filing's record as the inner side sent it back, for its owner and the access provider recorded for it",
            "parameters": [{"name": "filing_number", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The record (HTML, Chinese and English)"},
                "303": {"description": "Not logged in; go to the login page"},
                "404": {"description": "No approved record of this filing number for this account"}}}}),
        ),
        (
            "/account/records/{filing_number}/change",
            json!({
            "get": {
                "summary": "The filing form filled from the approved record, to change it (its owner only)",
                "parameters": [
                    {"name": "filing_number", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "what", "in": "query", "schema": {"type": "string", "example": "website"}, "description": "website, access, subject or added_website; anything else opens the website change"},
                    {"name": "website", "in": "query", "schema": {"type": "string"}, "description": "the website number a website or access change is of"}],
                "responses": page_responses(&["200", "303", "403", "404"])},
            "post": {
                "summary": "Send the change the form stands for (the API's change of that filing number, with its checks)",
                "parameters": [{"name": "filing_number", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": form_body(&[("what", 16), ("website_number", 64)]),
                "responses": page_responses(&logged_in)}}),
        ),
        (
            "/account/filings/{receipt}/bazs.cert",
            json!({"get": {
            "summary": "The certificate issued for one of this account's receipts, by its session alone",
            "parameters": [{"name": "receipt", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The certificate file bazs.cert", "content": {"application/octet-stream": {}}},
                "303": {"description": "Not logged in; go to the login page"},
                "404": {"description": "No certificate for this receipt in this account"}}}}),
        ),
        (
            "/certificate",
            json!({
            "get": get("Form to download a certificate by filing number and filing password (no account)"),
            "post": {
                "summary": "The certificate for a filing number and its filing password (no account)",
                "requestBody": form_body(&[("filing_number", 64), ("filing_password", 64)]),
                "responses": {
                    "200": {"description": "The certificate file bazs.cert", "content": {"application/octet-stream": {}}},
                    "400": {"description": "Malformed form (the page says which)"},
                    "403": {"description": "The form's CSRF token is missing or wrong, or it came from another site"},
                    "404": {"description": "No certificate for this filing number and filing password (one answer for an unknown number and a wrong password)"},
                    "410": {"description": "The password is right; the certificate was revoked"},
                    "413": {"description": "The form is larger than 16 KiB"},
                    "415": {"description": "Not a URL-encoded form"},
                    "429": {"description": "Too many wrong filing passwords for this number or from this address; see Retry-After"}}}}),
        ),
        (
            "/account/filings/new",
            json!({
            "get": get("Form for a new filing (owners and access providers)"),
            "post": {
                "summary": "Submit a new filing from the form; the API's checks, problems beside their fields",
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["csrf"], "properties": {"csrf": {"type": "string", "maxLength": 64}},
                    "additionalProperties": {"type": "string", "maxLength": 4096}}}}},
                "responses": page_responses(&logged_in)}}),
        ),
    ]
}

/// The document.
pub fn document() -> Value {
    let mut document = api_document();
    if let Some(paths) = document["paths"].as_object_mut() {
        for (path, item) in account_pages() {
            paths.insert(path.to_owned(), item);
        }
    }
    document
}

/// The JSON API's part of the document.
fn api_document() -> Value {
    let receipt_param = json!({"name": "receipt", "in": "path", "required": true, "schema": {"type": "string", "example": "R20261122-3F9K2Q7M"}});
    let bearer = json!([{"bearer": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sluice outer intake",
            "version": "1",
            "description": "Website filings (new, change, cancellation, withdrawal), batches for access providers, and the status of every receipt."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic", "description": "for a browser: any user name, the token as the password"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}},
                "CertificateDownload": {"type": "object", "required": ["filing_number", "filing_password"], "additionalProperties": false, "properties": {
                    "filing_number": {"type": "string", "example": "京ICP备2026000001号"},
                    "filing_password": {"type": "string", "description": "as its owner was given it; case, spaces and hyphens do not matter", "example": "7K3Q-M9XD-2FHR-WT4B"}}},
                "Problem": {"type": "object", "required": ["field", "code", "message"], "properties": {
                    "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}},
                "SubmissionRequest": {"type": "object", "required": ["submission"], "properties": {
                    "on_behalf_of": {"type": "string"},
                    "submission": {"type": "object", "required": ["kind"], "properties": {
                        "kind": {"enum": ["new_filing", "change", "cancellation", "withdrawal", "provider_check"]},
                        "attachments": {"type": "array", "maxItems": 16, "description": "a change's scans (a new filing's are filing.attachments)", "items": {"$ref": "#/components/schemas/Attachment"}}}}}},
                "Attachment": {"type": "object", "required": ["kind", "media_type", "base64"], "description": "a scanned document: a JPEG or PNG by its bytes, at most limits.max_scan_bytes (default 512 KiB)", "properties": {
                    "kind": {"enum": ["subject_certificate", "principal_identity", "pre_approval", "principal_photo", "other"]},
                    "media_type": {"enum": ["image/jpeg", "image/png"]},
                    "base64": {"type": "string", "contentEncoding": "base64"},
                    "pre_approval": {"type": "object", "required": ["website", "item"], "description": "the pre-approval entry a pre_approval document belongs to", "properties": {
                        "website": {"type": "integer", "minimum": 0, "description": "the website, from 0 among those the submission lists (a change lists one)"},
                        "item": {"enum": ["news", "publishing", "education", "medical", "drugs", "culture", "broadcasting"]}}}}},
                "ProviderCheck": {"type": "object", "required": ["kind", "receipt", "version", "content_hash", "decision"], "description": "the submission of kind provider_check: an access provider's check (待接入商核验) of a version awaiting it, sent by the provider named in its access details, as itself (no on_behalf_of); refused with provider_check.not_a_provider, .unknown_receipt, .not_named, .other_version, .not_awaiting, .not_held or .already_sent", "properties": {
                    "kind": {"const": "provider_check"},
                    "receipt": {"type": "string", "example": "R20261122-3F9K2Q7M"},
                    "version": {"type": "integer", "minimum": 1, "description": "the version checked, as GET /api/v1/provider-checks lists it"},
                    "content_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "that version's content hash, as listed"},
                    "decision": {"enum": ["confirm", "return"]},
                    "reason": {"type": "string", "description": "why, for a return (required then, not allowed with a confirmation); the submitter sees it"}}},
                "ProviderChecks": {"type": "object", "required": ["checks", "limit"], "properties": {
                    "limit": {"type": "integer"},
                    "checks": {"type": "array", "items": {"type": "object",
                        "required": ["receipt", "version", "content_hash", "submitted_at", "submitter", "submission"],
                        "properties": {
                            "receipt": {"type": "string"}, "version": {"type": "integer"},
                            "content_hash": {"type": "string", "description": "lower-case hex SHA-256"},
                            "submitted_at": {"type": "string", "description": "RFC 3339"},
                            "submitter": {"type": "string"},
                            "submission": {"type": "object", "description": "the submission as its owner sent it, in the shape POST /api/v1/submissions takes"},
                            "check_sent": {"type": "string", "description": "the receipt of the caller's check of this version, once sent"}}}}}},
                "Receipt": {"type": "object", "required": ["receipt", "version", "status_url"], "properties": {
                    "receipt": {"type": "string"}, "version": {"type": "integer"}, "status_url": {"type": "string"}}},
                "Status": {"type": "object", "required": ["receipt", "state", "history"], "properties": {
                    "receipt": {"type": "string"},
                    "state": {"enum": ["received", "in_transit", "delivered", "awaiting_provider_check", "awaiting_pre_approval", "awaiting_regional_review", "returned_to_provider", "returned_to_submitter", "approved", "rejected", "cancelled", "withdrawn"]},
                    "certificate_ready": {"type": "boolean"},
                    "certificate_revoked": {"type": "boolean"},
                    "filing_revoked": {"type": "boolean"},
                    "history": {"type": "array"}}},
                "ApprovedRecord": {"type": "object", "required": ["filing_number", "decided_at", "may_change", "websites"], "properties": {
                    "filing_number": {"type": "string"},
                    "decided_at": {"type": "string", "description": "RFC 3339"},
                    "may_change": {"type": "boolean", "description": "the caller filed it and may send a change of it; an access provider recorded for it reads it only"},
                    "subject": {"type": ["object", "null"], "description": "as in a change of the subject"},
                    "websites": {"type": "array", "items": {"type": "object", "required": ["website_number", "website"], "properties": {
                        "website_number": {"type": "string"},
                        "website": {"type": "object", "description": "as in a change of the website"}}}}}},
                "BatchResult": {"type": "object", "required": ["rows", "accepted", "rejected", "results"]},
                "RegisterAnswer": {"type": "object", "required": ["by", "results", "limit"], "properties": {
                    "by": {"enum": ["website_name", "domain", "filing_number"]},
                    "limit": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object",
                        "required": ["filing_number", "website_number", "subject_name", "subject_nature", "website_name", "domains", "approved_at"],
                        "properties": {
                            "filing_number": {"type": "string"}, "website_number": {"type": "string"},
                            "subject_name": {"type": "string"}, "subject_nature": {"type": "string"},
                            "website_name": {"type": "string"},
                            "domains": {"type": "array", "items": {"type": "string"}},
                            "approved_at": {"type": "integer", "description": "Unix seconds"}}}}}}
            }
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (operator tokens)", "security": bearer,
                "responses": with(json!({"200": {"description": "text/plain; version=0.0.4"}}), error_responses(&["401", "403", "429"]))}},
            "/ops": {"get": {"summary": "Operations page (HTML, Chinese and English; operator tokens)", "security": [{"bearer": []}, {"basic": []}],
                "parameters": [{"name": "hours", "in": "query", "schema": {"type": "string", "example": "48"}, "description": "history shown, in hours: a whole number held to 1 to 720; anything else shows the default, 48"}],
                "responses": with(json!({"200": {"description": "text/html"}}), error_responses(&["401", "403", "429"]))}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI document"}}}},
            "/status": {"get": {"summary": "Status page (HTML, Chinese and English)",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}, "description": "receipt id or filing number"}],
                "responses": {"200": {"description": "text/html"}}}},
            "/register": {"get": {"summary": "Public register query page (HTML, Chinese and English; no login)",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}, "description": "website name, domain or filing number"},
                    {"name": "by", "in": "query", "schema": {"type": "string"}, "description": "website_name, domain, filing_number or auto (the default); anything else is read as auto"}],
                "responses": {"200": {"description": "text/html"}, "400": {"description": "text/html: the page says what is wrong with q"}}}},
            "/register/check": {"get": {"summary": "The crawler's check of a website the public register lists (HTML, Chinese and English; no login): its certificate at http://DOMAIN/cert/bazs.cert and its home page, fetched at most once per configured interval; offered only when a certificate key is configured",
                "parameters": [{"name": "domain", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 200}, "description": "a domain the public register lists; nothing is fetched for any other"}],
                "responses": {"200": {"description": "text/html: every finding"}, "400": {"description": "text/html: no domain given"}, "404": {"description": "text/html: the domain is not in the register, or no check is offered; nothing fetched"}, "503": {"description": "text/html: other checks are running"}}}},
            "/api/v1/register": {"get": {"summary": "Public register query: approved websites by website name, domain or filing number (no login; nothing personal)",
                "parameters": [
                    {"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 200}, "description": "website name, domain or filing number"},
                    {"name": "by", "in": "query", "schema": {"enum": ["website_name", "domain", "filing_number", "auto"]}, "description": "how to read q; auto (the default) guesses"}],
                "responses": with(json!({"200": {"description": "The websites found (at most limit)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisterAnswer"}}}}}), error_responses(&["400"]))}},
            "/api/v1/submissions": {"post": {
                "summary": "Submit a new filing, change, cancellation or withdrawal, or (access providers) a provider check",
                "security": bearer,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 128}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmissionRequest"}}}},
                "responses": with(json!({"201": {"description": "Stored durably", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}}}),
                    error_responses(&["400", "401", "403", "409", "413", "422", "429"]))}},
            "/api/v1/submissions/{receipt}": {
                "get": {"summary": "Latest version and history", "security": bearer, "parameters": [receipt_param],
                    "responses": with(json!({"200": {"description": "Submission with versions and content hashes"}}), error_responses(&["401", "403", "404", "429"]))},
                "put": {"summary": "Edit: stores version n+1", "security": bearer, "parameters": [receipt_param],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmissionRequest"}}}},
                    "responses": with(json!({"200": {"description": "New version stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}}}),
                        error_responses(&["400", "401", "403", "404", "409", "413", "422", "429"]))}},
            "/api/v1/provider-checks": {"get": {"summary": "The versions awaiting the calling access provider's check (待接入商核验) that this store holds, oldest first, with each submission as its owner sent it; send the decision as a submission of kind provider_check (see ProviderCheck)", "security": bearer,
                "responses": with(json!({"200": {"description": "What awaits the caller's check", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProviderChecks"}}}}}), error_responses(&["401", "403", "429"]))}},
            "/api/v1/submissions/{receipt}/status": {"get": {"summary": "Status of any receipt ever issued", "parameters": [receipt_param],
                "responses": with(json!({"200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}), error_responses(&["404"]))}},
            "/api/v1/batches": {"post": {"summary": "Batch upload (access providers): CSV or XLSX body, or a zip archive of the sheet (batch.csv or batch.xlsx) and the scans its optional scans column names (kind:file pairs separated by ;, kind pre_approval/ITEM for a pre-approval document)", "security": bearer,
                "requestBody": {"required": true, "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "application/zip": {}}},
                "responses": with(json!({"200": {"description": "Per-row results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}}}}}),
                    error_responses(&["400", "401", "403", "413", "429"]))}},
            "/api/v1/batches/template.xlsx": {"get": {"summary": "Batch template (XLSX)", "responses": {"200": {"description": "XLSX file"}}}},
            "/api/v1/batches/template.csv": {"get": {"summary": "Batch template (CSV)", "responses": {"200": {"description": "CSV file"}}}},
            "/api/v1/certificates": {"post": {"summary": "The certificate for a filing number and its filing password, without an account",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CertificateDownload"}}}},
                "responses": with(with(json!({"200": {"description": "The certificate, published at /cert/bazs.cert", "content": {"application/octet-stream": {}}}}),
                    error_responses(&["400", "404", "410", "413"])),
                    json!({"429": {"description": "Too many wrong filing passwords for this filing number or from this address; see Retry-After",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}))}},
            "/api/v1/filings/{filing_number}/record": {"get": {"summary": "An approved filing's record as the inner side sent it back (its subject and websites in the shapes a change takes), for the account that filed it and the access provider recorded for it", "security": bearer,
                "parameters": [{"name": "filing_number", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with(json!({"200": {"description": "The approved record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApprovedRecord"}}}}}), error_responses(&["401", "403", "404", "429"]))}},
            "/api/v1/certificates/{filing_number}": {"get": {"summary": "Signed certificate for an approved filing, for the account that filed it", "security": bearer,
                "parameters": [{"name": "filing_number", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with(json!({"200": {"description": "The certificate, published at /cert/bazs.cert", "content": {"application/octet-stream": {}}}}), error_responses(&["401", "404", "410", "429"]))}}
        }
    })
}

/// `GET /api/openapi.json`.
pub(super) async fn serve_document() -> Json<Value> {
    Json(document())
}
