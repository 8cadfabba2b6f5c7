// The console's calls to the edge (same origin). The session cookie travels by itself
// (HttpOnly); every call carries X-Kessai-Console: 1, which the edge requires of a session's
// state-changing calls (CSRF defence: a cross-site form cannot set a header).
// → {status, body} where body is the JSON answer or null; rejects when no answer came.
export async function apiFetch(method, path, body) {
  const headers = { 'x-kessai-console': '1' };
  if (body != null) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method, credentials: 'same-origin', headers, body: body == null ? undefined : body,
  });
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    // not JSON (204, or a proxy's page): the caller sees the status only
  }
  return { status: response.status, body: json };
}
