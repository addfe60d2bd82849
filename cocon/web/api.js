// The HTTP side of the protocol: enter, me, logout, and appeals from people who cannot connect.
async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    return { status: 0, ok: false, data: { error: { code: 'network', message: '' } } };
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  return { status: res.status, ok: res.ok, data };
}

export const api = {
  me: () => call('GET', '/api/me'),
  enter: (body) => call('POST', '/api/enter', body),
  logout: () => call('POST', '/api/logout'),
  appeal: (body) => call('POST', '/api/appeal', body),
};
