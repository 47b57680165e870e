// roster's passkey ceremonies (WebAuthn), for the sign-in page and the
// passkeys page. Each form with data-begin fetches its ceremony's options
// (a POST with the form's CSRF token), asks the browser for a passkey, puts
// the answer in the form's hidden fields and posts the form as usual.
// Without this script or without WebAuthn the passkey controls stay hidden
// and the token form works as before.
"use strict";
(function () {
  function toBuffer(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  }

  function toBase64url(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, { id: toBuffer(d.id) }));
  }

  // creationOptions and requestOptions turn the server's JSON options into
  // what navigator.credentials takes.
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    return Object.assign({}, o, {
      challenge: toBuffer(o.challenge),
      user: Object.assign({}, o.user, { id: toBuffer(o.user.id) }),
      excludeCredentials: descriptors(o.excludeCredentials),
    });
  }

  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    return Object.assign({}, o, { challenge: toBuffer(o.challenge), allowCredentials: descriptors(o.allowCredentials) });
  }

  // answer is the browser's credential as the JSON the server parses.
  function answer(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    const r = cred.response;
    const out = { id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // refusal is the message of a failed options fetch: the error page's.
  async function refusal(resp) {
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    const p = doc.querySelector("main .error");
    return p ? p.textContent : resp.status + " " + resp.statusText;
  }

  function wire(section, kind) {
    const form = section.querySelector("form[data-begin]");
    const error = section.querySelector(".error");
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        const resp = await fetch(form.dataset.begin, { method: "POST", credentials: "same-origin",
          body: new URLSearchParams({ csrf: form.elements.csrf.value }) });
        if (!resp.ok) throw new Error(await refusal(resp));
        const c = await resp.json();
        const cred = kind === "create"
          ? await navigator.credentials.create({ publicKey: creationOptions(c.options.publicKey) })
          : await navigator.credentials.get({ publicKey: requestOptions(c.options.publicKey) });
        form.elements.ceremony.value = c.ceremony;
        form.elements.response.value = JSON.stringify(answer(cred));
        form.submit();
      } catch (e) {
        error.textContent = e.name === "NotAllowedError"
          ? "No passkey was used (cancelled, timed out, or none for this server)."
          : "Passkey: " + e.message;
        error.hidden = false;
        button.disabled = false;
      }
    });
    section.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    const login = document.getElementById("passkey-login");
    if (login) wire(login, "get");
    const register = document.getElementById("passkey-register");
    if (register) wire(register, "create");
  });
})();
