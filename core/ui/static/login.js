// The login page: posts the user name and password to api/login, which
// sets the session cookie, then opens the dashboard (or the page the user
// came from, kept in the fragment).
const form = document.getElementById("login");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  try {
    const resp = await fetch("api/login", {
      method: "POST",
      headers: { "X-Wigo-Request": "1" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      throw new Error(body.error || `HTTP ${resp.status}`);
    }
    location.replace("./" + location.hash);
  } catch (err) {
    error.textContent = `Not logged in: ${err.message}`;
    error.hidden = false;
    document.getElementById("password").select();
  }
});
