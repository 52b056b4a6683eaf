// Passkeys and security keys on the login host's pages: a form marked data-webauthn="create" or
// "get" runs the WebAuthn ceremony with the options the server put in the page (a JSON script
// element named by data-options), puts the browser's answer in its "credential" field as JSON
// and submits. The server verifies everything; this only carries bytes as base64url.
(function () {
  "use strict";
  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64url(value) {
    const padded = value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4);
    const text = atob(padded);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }
  function withIds(list) {
    return (list || []).map(function (item) { return Object.assign({}, item, { id: fromBase64url(item.id) }); });
  }
  function creation(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      user: Object.assign({}, options.user, { id: fromBase64url(options.user.id) }),
      excludeCredentials: withIds(options.excludeCredentials),
    });
  }
  function request(options) {
    return Object.assign({}, options, {
      challenge: fromBase64url(options.challenge),
      allowCredentials: withIds(options.allowCredentials),
    });
  }
  function answer(credential) {
    const response = credential.response;
    const out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) out.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(out);
  }
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      if (form.dataset.ready === "1") return;
      event.preventDefault();
      const status = form.querySelector("[data-webauthn-status]");
      const options = JSON.parse(document.getElementById(form.dataset.options).textContent);
      try {
        const credential = form.dataset.webauthn === "create"
          ? await navigator.credentials.create({ publicKey: creation(options) })
          : await navigator.credentials.get({ publicKey: request(options) });
        form.querySelector("input[name=credential]").value = answer(credential);
        form.dataset.ready = "1";
        form.submit();
      } catch (error) {
        if (status) status.textContent = "The key did not answer (" + error.name + "). Try again.";
      }
    });
  });
})();
