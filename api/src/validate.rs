//! Checks on text that comes from outside, shared by mutations and the importer.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::LazyLock,
};

use url::{Host, Url};

use crate::error::{ApiError, ApiResult};

/// GIAS establishment types (OGL v3.0, see `api/data/`), with their type group.
static ESTABLISHMENT_TYPES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    let mut reader =
        csv::Reader::from_reader(include_str!("../data/gias-establishment-types-20250422.csv").as_bytes());
    reader.records().filter_map(Result::ok).map(|r| (r[3].to_ascii_lowercase(), r[1].to_owned())).collect()
});

/// Trims `value` and checks it is 1 to `max` characters with no control characters.
pub fn text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("use at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Like `text`, for longer text that may hold line breaks and tabs.
pub fn long_text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("use at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Whether text a caller looks something up by (a slug, a certificate number, a cursor's
/// name) could equal a stored value. Nothing stored holds a NUL (text checks refuse control
/// characters), and PostgreSQL's text cannot hold one: a statement comparing with one fails
/// instead of matching nothing. Lookups answer as for no match without asking the database.
pub fn matchable(value: &str) -> bool {
    !value.contains('\0')
}

/// A GIAS URN: six digits.
pub fn urn(urn: i32) -> ApiResult<i32> {
    if (100_000..=999_999).contains(&urn) {
        Ok(urn)
    } else {
        Err(ApiError::invalid("urn", format!("{urn} is not a six-digit URN")))
    }
}

/// A local authority code: three digits.
pub fn la_code(code: &str) -> ApiResult<String> {
    let code = code.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(ApiError::invalid("laCode", format!("{code:?} is not a three-digit LA code")))
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code.
pub fn postcode(value: &str) -> ApiResult<String> {
    let compact: String =
        value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let ok = (5..=7).contains(&compact.len())
        && compact.bytes().all(|b| b.is_ascii_alphanumeric())
        && compact.as_bytes()[0].is_ascii_alphabetic()
        && compact.as_bytes()[compact.len() - 3].is_ascii_digit();
    if !ok {
        return Err(ApiError::invalid("postcode", format!("{value:?} is not a UK postcode")));
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    Ok(format!("{outward} {inward}"))
}

/// A GIAS type of establishment, spelled as GIAS spells it.
pub fn establishment_type(value: &str) -> ApiResult<String> {
    let value = text("establishmentType", value, 120)?;
    if ESTABLISHMENT_TYPES.contains_key(&value.to_ascii_lowercase()) {
        Ok(value)
    } else {
        Err(ApiError::invalid("establishmentType", format!("{value:?} is not a GIAS establishment type")))
    }
}

/// Whether an establishment type is state-funded (what a partnership certifies).
pub fn is_state_funded(establishment_type: &str) -> bool {
    let key = establishment_type.trim().to_ascii_lowercase();
    match ESTABLISHMENT_TYPES.get(&key).map(String::as_str) {
        Some("Local authority maintained schools" | "Academies" | "Free Schools") => true,
        Some("Special schools") => key == "community special school" || key == "foundation special school",
        _ => false,
    }
}

/// A GIAS group UID: digits.
pub fn group_uid(value: &str) -> ApiResult<String> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid("groupUid", format!("{value:?} is not a GIAS group UID")))
    }
}

/// A Companies House number: eight letters or digits.
pub fn companies_house_number(value: &str) -> ApiResult<String> {
    let value = value.trim().to_ascii_uppercase();
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(ApiError::invalid("companiesHouseNumber", format!("{value:?} is not a Companies House number")))
    }
}

/// A link to somewhere on the public web, as people click it: `http` or `https`, at most
/// `max` characters, no user name or password before the host (`https://trusted.gov.uk@evil.example/`
/// goes to evil.example), and a host that is a public name or address, not this machine or a
/// private network: loopback, private (10/8, 172.16/12, 192.168/16), link-local (169.254/16,
/// fe80::/10), unique-local (fc00::/7), unspecified, multicast or broadcast addresses
/// (IPv4-mapped IPv6 ones too), and `localhost` or `*.localhost`, are refused. Returns the URL
/// as the WHATWG parser normalises it (so `http://2130706433/` is seen as `127.0.0.1`).
pub fn web_url(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.len() > max {
        return Err(ApiError::invalid(field, format!("use at most {max} characters")));
    }
    let parsed = Url::parse(value).map_err(|_| ApiError::invalid(field, "not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::invalid(field, "use an http or https address"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::invalid(field, "a link must not carry a user name or password"));
    }
    let local = match parsed.host() {
        None => return Err(ApiError::invalid(field, "use an http or https address")),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err(ApiError::invalid(field, "use an http or https address"));
            }
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
    };
    if local {
        return Err(ApiError::invalid(
            field,
            "link to a public web address, not this machine or a private network",
        ));
    }
    Ok(parsed.to_string())
}

/// Whether an address may be on the public internet (see `web_url` for what is not).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast())
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_unicast_link_local()
        || ip.is_unique_local()
        || ip.is_multicast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_go_to_public_hosts_without_credentials() {
        let url = |s: &str| web_url("url", s, 2000);
        assert_eq!(url("HTTPS://Example.org/plan").unwrap(), "https://example.org/plan");
        assert!(url("https://8.8.8.8/").is_ok());
        assert!(url("https://[2001:4860:4860::8888]/").is_ok());
        assert!(url("https://172.32.0.1/").is_ok(), "just outside 172.16/12");
        assert!(url("https://localhost.example.org/").is_ok());
        for bad in [
            "https://trusted.gov.uk@evil.example/",
            "https://user:secret@example.org/",
            "https://:secret@example.org/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://intranet.localhost/",
            "http://127.0.0.1/",
            "http://127.9.9.9:8080/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.0.10/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[ff02::1]/",
            "ftp://example.org/",
            "javascript:alert(1)",
            "not a url",
        ] {
            let err = url(bad).expect_err(bad);
            assert!(err.to_string().starts_with("url: "), "{bad}: {err}");
        }
    }

    #[test]
    fn postcodes_are_normalised_or_refused() {
        assert_eq!(postcode("po1 2ab").unwrap(), "PO1 2AB");
        assert_eq!(postcode("SW1A1AA").unwrap(), "SW1A 1AA");
        assert!(postcode("12345").is_err());
        assert!(postcode("PO1 2AB; DROP").is_err());
    }

    #[test]
    fn establishment_types_come_from_the_gias_list() {
        assert!(establishment_type("Community school").is_ok());
        assert!(establishment_type("Made-up school").is_err());
        assert!(is_state_funded("Academy converter"));
        assert!(!is_state_funded("Other independent school"));
        assert!(!is_state_funded("Other independent special school"));
    }
}
