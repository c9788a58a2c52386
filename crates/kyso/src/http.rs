//! Outgoing HTTP for the CLI (time-stamp requests to a TSA).

/// POSTs `body` and returns the response body; non-2xx statuses are errors.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("chỉ hỗ trợ địa chỉ http:// cho dịch vụ dấu thời gian (nhận được '{url}')"));
    }
    let mut resp =
        ureq::post(url).header("Content-Type", content_type).send(body).map_err(|e| format!("không gửi được yêu cầu tới {url}: {e}"))?;
    resp.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|e| format!("không đọc được phản hồi từ {url}: {e}"))
}

/// GETs JSON; non-2xx statuses are errors carrying the body's message.
pub fn get_json(url: &str) -> Result<serde_json::Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut resp = agent.get(url).call().map_err(|e| format!("không kết nối được {url}: {e}"))?;
    read_json(url, resp.status().as_u16(), resp.body_mut().with_config().limit(4 << 20).read_to_vec()).map_err(|e| e.message)
}

/// A refusal from a JSON service: its error code (the body's `error`), where it gave one.
pub struct JsonError {
    pub code: Option<String>,
    pub message: String,
}

/// POSTs JSON and reads JSON; non-2xx statuses are errors carrying the body's message.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    post_json_coded(url, body).map_err(|e| e.message)
}

/// Like [`post_json`], keeping the error code of a refusal.
pub fn post_json_coded(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, JsonError> {
    let plain = |message: String| JsonError { code: None, message };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let bytes = serde_json::to_vec(body).map_err(|e| plain(e.to_string()))?;
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(&bytes[..])
        .map_err(|e| plain(format!("không kết nối được {url}: {e}")))?;
    read_json(url, resp.status().as_u16(), resp.body_mut().with_config().limit(4 << 20).read_to_vec())
}

fn read_json(url: &str, status: u16, body: Result<Vec<u8>, ureq::Error>) -> Result<serde_json::Value, JsonError> {
    let plain = |message: String| JsonError { code: None, message };
    let body = body.map_err(|e| plain(format!("không đọc được phản hồi từ {url}: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| plain(format!("{url} trả về dữ liệu không phải JSON (mã {status})")))?;
    if (200..300).contains(&status) {
        Ok(v)
    } else {
        Err(JsonError {
            code: v.get("error").and_then(|m| m.as_str()).map(str::to_string),
            message: v.get("message").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| format!("{url} trả về mã {status}")),
        })
    }
}

/// GETs bytes (a CRL); non-2xx statuses are errors.
pub fn get(url: &str) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("chỉ hỗ trợ địa chỉ http:// (nhận được '{url}')"));
    }
    let mut resp = ureq::get(url).call().map_err(|e| format!("không tải được {url}: {e}"))?;
    resp.body_mut().with_config().limit(64 << 20).read_to_vec().map_err(|e| format!("không đọc được phản hồi từ {url}: {e}"))
}

/// The HTTP client of single sign-on: talks to the OpenID provider, follows no redirect (the
/// `openidconnect` crate's advice against SSRF), trusts the CA certificates of `ca_file` (PEM;
/// by default the system's bundle) over rustls, and reads at most 1 MiB.
pub fn oidc_client(ca_file: Option<&std::path::Path>) -> Result<kyso_service::OidcHttp, String> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
    let path = ca_file.unwrap_or(std::path::Path::new("/etc/ssl/certs/ca-certificates.crt"));
    let pem = std::fs::read(path).map_err(|e| format!("không đọc được tệp chứng thư CA {}: {e}", path.display()))?;
    let roots: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::Specific(std::sync::Arc::new(roots)))
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(15)))
        .build()
        .into();
    Ok(std::sync::Arc::new(move |req: http::Request<Vec<u8>>| {
        let url = req.uri().to_string();
        let resp = agent.run(req).map_err(|e| format!("không kết nối được {url}: {e}"))?;
        let (parts, mut body) = resp.into_parts();
        let bytes = body.with_config().limit(1 << 20).read_to_vec().map_err(|e| format!("không đọc được phản hồi từ {url}: {e}"))?;
        Ok(http::Response::from_parts(parts, bytes))
    }))
}

/// Fetches a CRL from a distribution point (`http://` only, as CRLs are published; at most
/// 32 MiB), for the certificate login of certificates from another CA.
pub fn fetch_crl(url: &str) -> Option<Vec<u8>> {
    if !url.starts_with("http://") {
        return None;
    }
    let agent: ureq::Agent =
        ureq::Agent::config_builder().max_redirects(0).timeout_global(Some(std::time::Duration::from_secs(15))).build().into();
    let mut resp = agent.get(url).call().ok()?;
    resp.body_mut().with_config().limit(32 << 20).read_to_vec().ok()
}
