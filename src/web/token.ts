// The API token: taken from the address `kandinsky serve` prints (`/#token=...`, then removed from the address
// bar so that it is not left in history or a screenshot), or entered once; kept in this browser.

const KEY = 'kandinsky.token';

export function readToken(): string | null {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) {
    saveToken(fromUrl);
    history.replaceState(null, '', location.pathname + location.search);
    return fromUrl;
  }
  return localStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  localStorage.setItem(KEY, token.trim());
}

export function forgetToken(): void {
  localStorage.removeItem(KEY);
}
