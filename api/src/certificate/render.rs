//! The public documents of one certificate: its HTML page, the printable certificate and the
//! level's badge, built as plain strings so they need nothing from anywhere else to render.

use chrono::NaiveDate;

/// Where a certificate stands today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Awarded and not revoked; it still lapses once its expiry date has passed.
    Valid,
    /// Past its expiry date.
    Expired,
    /// Withdrawn by the awarding body on the given day.
    Revoked {
        /// The day it was revoked.
        on: NaiveDate,
    },
}

/// What the public documents of one certificate show. Only public facts: no people.
pub struct Card<'a> {
    /// The certificate number, e.g. "CERT-7K2M-Q9XD-4RTB-W3HA".
    pub number: &'a str,
    /// The school the certificate was awarded to.
    pub school_name: &'a str,
    /// The school's 6-digit URN.
    pub urn: i32,
    /// The framework, e.g. "AiEd Certified".
    pub framework_name: &'a str,
    /// The level awarded, e.g. "Explorer".
    pub level_name: &'a str,
    /// 1 for the framework's lowest level; picks the badge colour.
    pub level_rank: i32,
    /// How many levels the framework has.
    pub level_count: i32,
    /// The day it was awarded.
    pub awarded_on: NaiveDate,
    /// The last day it is valid.
    pub expires_on: NaiveDate,
    /// Where it stands, as recorded.
    pub standing: Standing,
    /// The awarding body, e.g. "Digital City Partnership".
    pub issuer_name: &'a str,
    /// The awarding body's web site; linked only when it is an http(s) URL.
    pub issuer_url: &'a str,
    /// Absolute URL of this certificate's public page, without a trailing slash.
    pub page_url: &'a str,
    /// Absolute URL of the signed credential (a JWT); `None` when there is none.
    pub credential_url: Option<&'a str>,
}

const SERIF: &str = "Georgia, 'Times New Roman', serif";
const MONO: &str = "ui-monospace, Menlo, Consolas, 'Courier New', monospace";
/// Badge colours (main, dark) by rank, cycling for frameworks with more levels.
const COLOURS: [(&str, &str); 4] =
    [("#0f766e", "#134e4a"), ("#1d4ed8", "#1e3a8a"), ("#7e22ce", "#4c1d95"), ("#b45309", "#78350f")];

const PAGE_CSS: &str = "\
body{margin:0;background:#f6f5f1;color:#1c1917;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}\
main{max-width:46rem;margin:0 auto;padding:2rem 1.25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}\
h1{font-family:Georgia,'Times New Roman',serif;font-size:2rem;line-height:1.2;margin:.25rem 0 1rem}\
.kicker{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.85rem;color:#57534e}\
.status{border-left:.4rem solid;border-radius:.25rem;padding:.75rem 1rem;font-size:1.2rem;font-weight:600}\
.valid{background:#dcfce7;border-color:#15803d;color:#14532d}\
.expired{background:#fef3c7;border-color:#b45309;color:#78350f}\
.revoked{background:#fee2e2;border-color:#b91c1c;color:#7f1d1d}\
.facts{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}dd{margin:0;overflow-wrap:anywhere}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0;flex:1 1 18rem}\
dt{font-weight:600;color:#44403c}code{font-family:ui-monospace,Menlo,Consolas,monospace}\
a{color:#1d4ed8}a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

/// The public HTML page at /certificates/{number}, with the standing as of `today`.
pub fn page(card: &Card, today: NaiveDate) -> String {
    let school = escape(card.school_name);
    let framework = escape(card.framework_name);
    let level = escape(card.level_name);
    let page_url = escape(card.page_url);
    let (class, words) = standing_words(card, today);
    let issuer = match web_url(card.issuer_url) {
        Some(url) => format!(r#"<a href="{}">{}</a>"#, escape(url), escape(card.issuer_name)),
        None => escape(card.issuer_name),
    };
    let mut html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{school}: {level} – {framework} certificate</title>
<style>
{PAGE_CSS}
</style>
</head>
<body>
<main>
<p class="kicker">{framework} certificate</p>
<h1>{school}</h1>
<p class="status {class}">{words}</p>
<h2>About this certificate</h2>
<div class="facts">
<img src="{page_url}/badge.svg" alt="{framework} badge: {level} level" width="160" height="160">
<dl>
<dt>School</dt><dd>{school}</dd>
<dt>URN</dt><dd>{urn}</dd>
<dt>Framework</dt><dd>{framework}</dd>
<dt>Level</dt><dd>{level}, level {rank} of {count}</dd>
<dt>Awarded</dt><dd><time datetime="{awarded_iso}">{awarded}</time></dd>
<dt>Expires</dt><dd><time datetime="{expires_iso}">{expires}</time></dd>
<dt>Certificate number</dt><dd><code>{number}</code></dd>
<dt>Awarded by</dt><dd>{issuer}</dd>
</dl>
</div>
<h2>Documents</h2>
<ul>
<li><a href="{page_url}/certificate.svg">Printable certificate (SVG)</a></li>
"#,
        urn = card.urn,
        rank = card.level_rank,
        count = card.level_count,
        awarded_iso = card.awarded_on,
        awarded = long_date(card.awarded_on),
        expires_iso = card.expires_on,
        expires = long_date(card.expires_on),
        number = escape(card.number),
    );
    let credential = card.credential_url.and_then(web_url);
    if let Some(url) = credential {
        html.push_str(&format!(
            "<li><a href=\"{}\" download>Download the credential (Open Badges 3.0)</a></li>\n",
            escape(url)
        ));
    }
    html.push_str("</ul>\n<h2>Check this certificate</h2>\n<p>Anyone can check it: ");
    if credential.is_some() {
        html.push_str(
            "send the credential in a POST request to <code>/verify</code> on this service, \
             which checks its signature and current standing, or ",
        );
    }
    html.push_str(&format!(
        "open this page at <a href=\"{page_url}\">{page_url}</a>, which always shows where \
         the certificate stands today.</p>\n</main>\n</body>\n</html>\n"
    ));
    html
}

/// The printable certificate, an A4-landscape SVG (served at /certificates/{number}/certificate.svg).
pub fn certificate_svg(card: &Card) -> String {
    let (main, dark) = colours(card.level_rank);
    let school = escape(card.school_name);
    let framework = escape(card.framework_name);
    let level = escape(card.level_name);
    let revoked = matches!(card.standing, Standing::Revoked { .. });
    let check = format!("Check it at {}", card.page_url);
    let mut svg = format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="297mm" height="210mm" viewBox="0 0 1123 794" font-family="{SERIF}">
<title>Certificate: {school}, {level} level of {framework}{note}</title>
<rect width="1123" height="794" fill="#fffdf7"/>
<rect x="24" y="24" width="1075" height="746" fill="none" stroke="{dark}" stroke-width="6"/>
<rect x="40" y="40" width="1043" height="714" fill="none" stroke="{main}" stroke-width="1.5"/>
<g text-anchor="middle" fill="#1c1917">
<text x="561.5" y="128" font-size="60" letter-spacing="6" fill="{dark}">Certificate</text>
<text x="561.5" y="174" {framework_fit} font-style="italic">{framework}</text>
<text x="561.5" y="238" font-size="20" font-style="italic" fill="#57534e">awarded to</text>
{school_lines}
<text x="561.5" y="344" font-size="18" fill="#57534e">URN {urn}</text>
<text x="561.5" y="394" {level_fit}>at {level} level</text>
<text x="561.5" y="434" font-size="18">Awarded {awarded} · valid until {expires}</text>
</g>
{badge}
<g font-size="16" fill="#57534e">
<text x="120" y="560">Awarded by</text>
<text x="120" y="590" {issuer_fit} font-weight="bold" fill="#1c1917">{issuer}</text>
<text x="1003" y="560" text-anchor="end">Certificate number</text>
<text x="1003" y="590" text-anchor="end" font-family="{MONO}" {number_fit} fill="#1c1917">{number}</text>
</g>
<text x="561.5" y="712" text-anchor="middle" {check_fit} fill="#57534e">{check}</text>
"##,
        note = if revoked { " (revoked)" } else { "" },
        framework_fit = fit(card.framework_name, 900.0, 24.0, 14.0),
        school_lines = school_lines(card.school_name),
        level_fit = fit(&format!("at {} level", card.level_name), 900.0, 30.0, 16.0),
        urn = card.urn,
        awarded = long_date(card.awarded_on),
        expires = long_date(card.expires_on),
        badge = badge_shape(card.framework_name, card.level_name, card.level_rank, (481.5, 452.0, 0.625)),
        issuer_fit = fit(card.issuer_name, 340.0, 20.0, 12.0),
        issuer = escape(card.issuer_name),
        number_fit = fit(card.number, 300.0, 18.0, 10.0),
        number = escape(card.number),
        check_fit = fit(&check, 900.0, 16.0, 10.0),
        check = escape(&check),
    );
    if revoked {
        svg.push_str(
            "<text x=\"561.5\" y=\"397\" transform=\"rotate(-28 561.5 397)\" text-anchor=\"middle\" \
             dominant-baseline=\"middle\" font-size=\"170\" font-weight=\"bold\" letter-spacing=\"12\" \
             fill=\"#b91c1c\" fill-opacity=\"0.22\">REVOKED</text>\n",
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The badge image of a level (served at /certificates/{number}/badge.svg). When
/// `credential_jwt` is given and is a compact JWT (base64url parts joined by dots), it is baked
/// in as Open Badges 3.0 specifies; anything else is left out rather than baked.
pub fn badge_svg(
    framework_name: &str,
    level_name: &str,
    level_rank: i32,
    credential_jwt: Option<&str>,
) -> String {
    let jwt = credential_jwt.filter(|jwt| is_compact_jwt(jwt));
    let namespace =
        if jwt.is_some() { r#" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0""# } else { "" };
    let mut svg = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"{namespace} \
         version=\"1.1\" width=\"256\" height=\"256\" viewBox=\"0 0 256 256\">\n"
    );
    // Open Badges 3.0 wants the credential as the first child of the root element.
    if let Some(jwt) = jwt {
        svg.push_str(&format!("<openbadges:credential><![CDATA[{jwt}]]></openbadges:credential>\n"));
    }
    svg.push_str(&format!(
        "<title>{}: {} level</title>\n{}</svg>\n",
        escape(framework_name),
        escape(level_name),
        badge_shape(framework_name, level_name, level_rank, (0.0, 0.0, 1.0))
    ));
    svg
}

/// Escapes text for HTML/XML text and double-quoted attribute values (& < > " '), and drops
/// the control characters XML 1.0 cannot carry at all, so the SVGs stay well-formed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() && c < '\u{80}' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The badge drawn in a 256×256 box, placed by `(x, y, scale)`.
fn badge_shape(framework_name: &str, level_name: &str, rank: i32, at: (f64, f64, f64)) -> String {
    let (main, dark) = colours(rank);
    let rosette: Vec<String> = (0..48)
        .map(|i| {
            let r = if i % 2 == 0 { 106.0 } else { 94.0 };
            let a = std::f64::consts::PI * f64::from(i) / 24.0;
            format!("{:.1},{:.1}", 128.0 + r * a.sin(), 110.0 - r * a.cos())
        })
        .collect();
    let dots = rank.clamp(1, 5);
    let mut g = format!(
        r##"<g transform="translate({x} {y}) scale({s})" font-family="{SERIF}" text-anchor="middle">
<polygon points="100,160 70,250 94,234 114,252 134,172" fill="{dark}"/>
<polygon points="156,160 186,250 162,234 142,252 122,172" fill="{dark}"/>
<polygon points="{rosette}" fill="{main}"/>
<circle cx="128" cy="110" r="82" fill="#fffdf7" stroke="{dark}" stroke-width="3"/>
<circle cx="128" cy="110" r="74" fill="none" stroke="{main}" stroke-width="1.5"/>
<text x="128" y="90" {framework_fit} fill="{dark}">{framework}</text>
<text x="128" y="124" {level_fit} font-weight="bold" fill="#1c1917">{level}</text>
"##,
        x = at.0,
        y = at.1,
        s = at.2,
        rosette = rosette.join(" "),
        framework_fit = fit(framework_name, 118.0, 15.0, 9.0),
        framework = escape(framework_name),
        level_fit = fit(level_name, 136.0, 26.0, 12.0),
        level = escape(level_name),
    );
    for i in 0..dots {
        let cx = 128 - (dots - 1) * 7 + i * 14;
        g.push_str(&format!("<circle cx=\"{cx}\" cy=\"150\" r=\"4\" fill=\"{main}\"/>\n"));
    }
    g.push_str("</g>\n");
    g
}

/// The school's name, big and bold: one line up to 60 characters, else two.
fn school_lines(name: &str) -> String {
    let line = |y: i32, text: &str, size: &str| {
        format!(r#"<text x="561.5" y="{y}" {size} font-weight="bold">{}</text>"#, escape(text))
    };
    let middle = name.match_indices(' ').map(|(i, _)| i).min_by_key(|i| i.abs_diff(name.len() / 2));
    match middle {
        Some(i) if name.chars().count() > 60 => {
            let (first, second) = (&name[..i], &name[i + 1..]);
            let longer = if first.chars().count() > second.chars().count() { first } else { second };
            let size = fit(longer, 968.0, 30.0, 22.0);
            format!("{}\n{}", line(276, first, &size), line(312, second, &size))
        }
        _ => line(300, name, &fit(name, 968.0, 44.0, 22.0)),
    }
}

/// The `font-size` attribute that fits `text` into `width` px (guessing 0.55em a character),
/// from `max` down to `min`; past that `textLength` squeezes it, so it never overflows.
fn fit(text: &str, width: f64, max: f64, min: f64) -> String {
    let chars = text.chars().count().max(1) as f64;
    let size = (width / (chars * 0.55)).floor().clamp(min, max);
    if chars * 0.55 * size > width {
        format!(r#"font-size="{size}" textLength="{width}" lengthAdjust="spacingAndGlyphs""#)
    } else {
        format!(r#"font-size="{size}""#)
    }
}

/// The (main, dark) colours of a level by rank, 1 being the lowest.
fn colours(rank: i32) -> (&'static str, &'static str) {
    COLOURS[(rank - 1).rem_euclid(COLOURS.len() as i32) as usize]
}

/// The CSS class and words for where the certificate stands on `today`.
fn standing_words(card: &Card, today: NaiveDate) -> (&'static str, String) {
    match card.standing {
        Standing::Revoked { on } => ("revoked", format!("Revoked on {}", long_date(on))),
        Standing::Valid if today <= card.expires_on => {
            ("valid", format!("Valid until {}", long_date(card.expires_on)))
        }
        Standing::Valid | Standing::Expired => {
            ("expired", format!("Expired on {}", long_date(card.expires_on)))
        }
    }
}

/// "4 December 2026".
fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// The URL when it is http(s), so a stored `javascript:` link is never rendered.
fn web_url(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

/// Only base64url characters and dots, so it can never close the CDATA section.
fn is_compact_jwt(jwt: &str) -> bool {
    !jwt.is_empty() && jwt.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"St Mary's <script>alert("x")</script> & Co"#;
    const HOSTILE_ESCAPED: &str = "St Mary&#39;s &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co";
    const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_Ab";

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn card(school_name: &str, standing: Standing) -> Card<'_> {
        Card {
            number: "CERT-7K2M-Q9XD-4RTB-W3HA",
            school_name,
            urn: 123456,
            framework_name: "AiEd Certified",
            level_name: "Explorer",
            level_rank: 1,
            level_count: 3,
            awarded_on: day(2025, 12, 4),
            expires_on: day(2026, 12, 4),
            standing,
            issuer_name: "Digital City Partnership",
            issuer_url: "https://digitalcity.example",
            page_url: "https://certs.example/certificates/CERT-7K2M-Q9XD-4RTB-W3HA",
            credential_url: Some("https://certs.example/credentials/CERT-7K2M-Q9XD-4RTB-W3HA.jwt"),
        }
    }

    /// Every `|`-separated part of `parts` is in `out`.
    fn assert_has(out: &str, parts: &str) {
        parts.split('|').for_each(|part| assert!(out.contains(part), "missing {part} in {out}"));
    }

    /// Tags balance: a stack over start, end and self-closing tags, skipping the XML
    /// declaration, comments and CDATA. Stands in for the integration tests' XML parser.
    fn balanced(xml: &str) -> bool {
        let (mut stack, mut rest) = (Vec::new(), xml);
        while let Some(i) = rest.find('<') {
            rest = &rest[i..];
            let skipped =
                [("<![CDATA[", "]]>"), ("<!--", "-->")].into_iter().find(|(open, _)| rest.starts_with(open));
            let close = skipped.map_or(">", |(_, close)| close);
            let Some(end) = rest.find(close) else { return false };
            let tag = &rest[1..end];
            rest = &rest[end + close.len()..];
            if close != ">" || tag.starts_with('?') {
                continue;
            } else if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        stack.is_empty()
    }

    #[test]
    fn escape_covers_markup_quotes_and_characters_xml_cannot_carry() {
        assert_eq!(escape(HOSTILE), HOSTILE_ESCAPED);
        assert_eq!(escape("a\u{1}b\u{FFFF}\tc é"), "ab\tc é");
    }

    #[test]
    fn data_is_escaped_in_all_three_documents() {
        let hostile = card(HOSTILE, Standing::Valid);
        let badge = badge_svg(HOSTILE, HOSTILE, 2, None);
        for out in [page(&hostile, day(2026, 1, 1)), certificate_svg(&hostile), badge] {
            assert!(out.contains(HOSTILE_ESCAPED) && !out.contains("<script") && !out.contains("Mary's"));
        }
    }

    #[test]
    fn page_shows_the_facts_and_fetches_or_links_only_the_card_urls() {
        let card = card("Hillside Primary", Standing::Valid);
        let html = page(&card, day(2026, 1, 1));
        assert_has(
            &html,
            "<!doctype html>\n<html lang=\"en\">|<meta charset=\"utf-8\">|name=\"viewport\"|\
             <meta name=\"robots\" content=\"noindex\">|<title>Hillside Primary: Explorer|<h1>|<dl>|\
             <dd>Hillside Primary</dd>|<dd>123456</dd>|<dd>AiEd Certified</dd>|Explorer, level 1 of 3|\
             >4 December 2025<|>4 December 2026<|<code>CERT-7K2M-Q9XD-4RTB-W3HA</code>|/badge.svg\" alt=\"|\
             /certificate.svg\">Printable certificate (SVG)</a>|<code>/verify</code>|\
             download>Download the credential (Open Badges 3.0)</a>|>Digital City Partnership</a>",
        );
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("url("));
        let own = [card.page_url, card.credential_url.unwrap(), card.issuer_url];
        let values: Vec<&str> = ["src=\"", "href=\""]
            .iter()
            .flat_map(|attr| html.match_indices(attr).map(|(i, _)| &html[i + attr.len()..]))
            .collect();
        assert_eq!(values.len(), 5);
        for url in values.into_iter().chain(html.match_indices("http").map(|(i, _)| &html[i..])) {
            assert!(own.iter().any(|own| url.starts_with(own)), "{url}");
        }
    }

    #[test]
    fn page_links_no_missing_credential_nor_a_non_web_issuer() {
        let mut card = card("Hillside Primary", Standing::Valid);
        (card.credential_url, card.issuer_url) = (None, "javascript:alert(1)");
        let html = page(&card, day(2026, 1, 1));
        assert!(!html.contains("Download the credential") && !html.contains("javascript:"));
        assert_has(&html, "<dd>Digital City Partnership</dd>|open this page at");
    }

    #[test]
    fn standing_is_told_in_words_as_of_today() {
        let revoked = Standing::Revoked { on: day(2026, 3, 1) };
        for (standing, today, words) in [
            (Standing::Valid, day(2026, 12, 4), "status valid\">Valid until 4 December 2026<"),
            (Standing::Valid, day(2026, 12, 5), "status expired\">Expired on 4 December 2026<"),
            (Standing::Expired, day(2027, 1, 1), "status expired\">Expired on 4 December 2026<"),
            (revoked, day(2026, 4, 1), "status revoked\">Revoked on 1 March 2026<"),
        ] {
            assert_has(&page(&card("Hillside", standing), today), words);
        }
    }

    #[test]
    fn certificate_shows_the_facts_and_marks_revocation() {
        let svg = certificate_svg(&card("Hillside Primary", Standing::Valid));
        assert_has(
            &svg,
            "width=\"297mm\" height=\"210mm\" viewBox=\"0 0 1123 794\"|<title>|>Certificate</text>|\
             >AiEd Certified</text>|>awarded to</text>|font-size=\"44\" font-weight=\"bold\">Hillside Primary<|\
             >URN 123456</text>|>at Explorer level</text>|Awarded 4 December 2025 · valid until 4 December 2026|\
             >CERT-7K2M-Q9XD-4RTB-W3HA</text>|>Digital City Partnership</text>|<polygon points=|\
             >Check it at https://certs.example/certificates/CERT-7K2M-Q9XD-4RTB-W3HA</text>",
        );
        assert!(!svg.contains("REVOKED"));
        let revoked = certificate_svg(&card("Hillside", Standing::Revoked { on: day(2026, 3, 1) }));
        assert_has(&revoked, ">REVOKED</text>|(revoked)</title>");
    }

    #[test]
    fn long_school_names_shrink_then_wrap_then_squeeze() {
        assert_eq!(fit(&"x".repeat(40), 968.0, 44.0, 22.0), "font-size=\"44\"");
        assert_eq!(fit(&"x".repeat(60), 968.0, 44.0, 22.0), "font-size=\"29\"");
        let two = school_lines(&format!("The {}Academy", "Very Long ".repeat(9)));
        assert_eq!(two.lines().count(), 2);
        assert!(two.contains("font-size=\"30\"") && !two.contains("textLength"));
        assert!(school_lines(&"x".repeat(200)).contains("font-size=\"22\" textLength=\"968\""));
    }

    #[test]
    fn baking_puts_a_clean_jwt_first_and_refuses_one_that_could_escape() {
        let baked = badge_svg("AiEd Certified", "Explorer", 1, Some(JWT));
        let root = baked.find("<svg").unwrap();
        let (tag, children) = baked[root..].split_once('>').unwrap();
        assert!(tag.contains(" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\""));
        let credential = format!("<openbadges:credential><![CDATA[{JWT}]]></openbadges:credential>");
        assert!(children.trim_start().starts_with(&credential));
        for bad in [Some("a.b]]><script/>.c"), Some("a.b c.d"), Some(""), None] {
            let out = badge_svg("AiEd Certified", "Explorer", 1, bad);
            assert!(!out.contains("openbadges") && !out.contains("CDATA") && !out.contains("script"));
        }
    }

    #[test]
    fn badge_colour_follows_rank_and_cycles() {
        assert_ne!(colours(1), colours(2));
        assert_eq!((colours(1), colours(0)), (colours(5), colours(4)));
        assert!(badge_svg("F", "L", 3, None).contains(colours(3).0));
    }

    #[test]
    fn svgs_are_well_formed() {
        let long = format!("The {}Academy", "Very Long ".repeat(20));
        let mut svgs =
            vec![badge_svg(HOSTILE, "Practitioner", 2, Some(JWT)), badge_svg("F", HOSTILE, 7, None)];
        for standing in [Standing::Valid, Standing::Expired, Standing::Revoked { on: day(2026, 3, 1) }] {
            svgs.extend([certificate_svg(&card(HOSTILE, standing)), certificate_svg(&card(&long, standing))]);
        }
        for svg in svgs {
            assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
            assert_has(&svg, "xmlns=\"http://www.w3.org/2000/svg\"|<title>");
            assert!(balanced(&svg), "{svg}");
        }
        assert!(!balanced("<svg><g></svg>") && !balanced("<svg><g/>") && balanced("<a><!-- <b> --></a>"));
    }
}
