//! Which responses are redirects and what the next request looks like.

use http::header::{CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LOCATION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

/// The next hop of a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NextHop {
    /// Where to go.
    pub url: Url,
    /// The method to use there.
    pub method: Method,
    /// Whether the body (and the headers describing it) is dropped.
    pub drop_body: bool,
}

/// Why a redirect cannot be followed at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLocation(pub String);

/// The next hop when `status` with `headers` is a redirect from `current`
/// (a 301, 302, 303, 307 or 308 with a `Location`), `None` otherwise.
/// 303 becomes GET (HEAD stays HEAD), 301 and 302 become GET for methods
/// other than GET and HEAD; 307 and 308 keep method and body.
pub(crate) fn next_hop(
    status: StatusCode,
    headers: &HeaderMap,
    current: &Url,
    method: &Method,
) -> Option<Result<NextHop, BadLocation>> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(LOCATION)?;
    let Ok(location) = location.to_str() else {
        return Some(Err(BadLocation(
            "its Location header is not valid text".into(),
        )));
    };
    let url = match current.join(location.trim()) {
        Ok(mut url) => {
            url.set_fragment(None);
            url
        }
        Err(e) => {
            return Some(Err(BadLocation(format!(
                "its Location is not a valid URL: {e}"
            ))));
        }
    };
    let keeps = *method == Method::GET || *method == Method::HEAD;
    let to_get = match status.as_u16() {
        303 => *method != Method::HEAD,
        301 | 302 => !keeps,
        _ => false,
    };
    Some(Ok(NextHop {
        url,
        method: if to_get { Method::GET } else { method.clone() },
        drop_body: to_get,
    }))
}

/// Remove the headers that describe a body that is no longer sent.
pub(crate) fn drop_body_headers(headers: &mut HeaderMap) {
    for name in [
        CONTENT_TYPE,
        CONTENT_ENCODING,
        CONTENT_LANGUAGE,
        CONTENT_LOCATION,
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn hop(status: u16, location: &str, method: Method) -> Option<Result<NextHop, BadLocation>> {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_str(location).expect("value"));
        let current = Url::parse("https://api.test/a/b?x=1").expect("url");
        next_hop(
            StatusCode::from_u16(status).expect("status"),
            &headers,
            &current,
            &method,
        )
    }

    #[test]
    fn methods_change_as_browsers_do() {
        let see_other = hop(303, "/c", Method::POST)
            .expect("redirect")
            .expect("valid");
        assert_eq!(see_other.url.as_str(), "https://api.test/c");
        assert_eq!(see_other.method, Method::GET);
        assert!(see_other.drop_body);

        let head = hop(303, "c", Method::HEAD)
            .expect("redirect")
            .expect("valid");
        assert_eq!(head.url.as_str(), "https://api.test/a/c");
        assert_eq!(head.method, Method::HEAD);

        let found = hop(302, "https://other.test/x#f", Method::PUT)
            .expect("redirect")
            .expect("valid");
        assert_eq!(found.method, Method::GET);
        assert_eq!(found.url.as_str(), "https://other.test/x");

        let get = hop(301, "/y", Method::GET)
            .expect("redirect")
            .expect("valid");
        assert_eq!(get.method, Method::GET);
        assert!(!get.drop_body);

        for status in [307, 308] {
            let keep = hop(status, "/z", Method::POST)
                .expect("redirect")
                .expect("valid");
            assert_eq!(keep.method, Method::POST);
            assert!(!keep.drop_body);
        }
    }

    #[test]
    fn other_statuses_and_missing_locations_are_not_redirects() {
        assert!(hop(200, "/x", Method::GET).is_none());
        assert!(hop(304, "/x", Method::GET).is_none());
        let current = Url::parse("https://api.test/").expect("url");
        assert!(next_hop(StatusCode::FOUND, &HeaderMap::new(), &current, &Method::GET).is_none());
        assert!(matches!(
            hop(302, "http://[bad", Method::GET),
            Some(Err(BadLocation(_)))
        ));
    }
}
