//! Reading the sandbox's own hosted pages as a script-less browser would (forms, their fields,
//! element text): for the tests of the sandbox and of kessai that drive its 3-D Secure and
//! Amazon Pay pages over plain HTTP. The pages are the sandbox's, so this simple reader matches
//! exactly what they print (attributes in double quotes, `html_escape`d values).

/// A `<form>` as a browser would submit it: id, method, action, and the `name`/`value` of its
/// `<input>`s in order (buttons are not included: pass the pressed one's pair as an extra).
#[derive(Debug, Clone)]
pub struct HtmlForm {
    pub id: String,
    pub method: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one tag (`<form id="x" …>`), unescaped.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Every form of a page.
pub fn forms(html: &str) -> Vec<HtmlForm> {
    html.split("<form")
        .skip(1)
        .map(|chunk| {
            let body = chunk.split("</form>").next().unwrap_or("");
            let tag = body.split('>').next().unwrap_or("");
            let fields = body
                .split("<input")
                .skip(1)
                .filter_map(|i| {
                    let t = i.split('>').next().unwrap_or("");
                    Some((attr(t, "name")?, attr(t, "value").unwrap_or_default()))
                })
                .collect();
            HtmlForm {
                id: attr(tag, "id").unwrap_or_default(),
                method: attr(tag, "method").unwrap_or_else(|| "get".into()),
                action: attr(tag, "action").unwrap_or_default(),
                fields,
            }
        })
        .collect()
}

/// The form with this id (panics with the page if there is none).
pub fn form(html: &str, id: &str) -> HtmlForm {
    forms(html)
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no form #{id} in {html}"))
}

/// The text right inside the element with this id (up to its first child tag).
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!(" id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(unescape(&rest[start..end]))
}
