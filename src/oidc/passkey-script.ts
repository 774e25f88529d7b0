/**
 * The one script of the OIDC sign-in page: "Use a passkey" on the MFA step (served by
 * `GET /oidc/interaction/:uid/passkey.js`, same origin, so the page's CSP needs only
 * `script-src 'self'` and `connect-src 'self'`; no inline script, no eval, no library).
 *
 * On click it POSTs the step form's `csrf`, `pendingSignInId` and `binding` (form-encoded, same origin,
 * cookies included) to the form's `data-options` URL (`POST …/mfa/webauthn-options`), turns the
 * base64url fields of the PublicKeyCredentialRequestOptionsJSON (`challenge`, `allowCredentials[].id`)
 * into bytes, calls `navigator.credentials.get({ publicKey })` (WebAuthn L3 §5.1.4), encodes the
 * assertion as AuthenticationResponseJSON (WebAuthn L3 §5.1: `id`, `rawId`, `type`,
 * `response.{clientDataJSON, authenticatorData, signature, userHandle}` as base64url without padding,
 * `clientExtensionResults`) into the hidden `response` field and submits the form to `POST …/mfa`.
 * Errors are shown in `#passkey-status`. Browsers without `PublicKeyCredential` keep the button hidden.
 */
export const PASSKEY_SCRIPT = `(function () {
  'use strict';
  var form = document.getElementById('passkey-form');
  var button = document.getElementById('passkey');
  var status = document.getElementById('passkey-status');
  if (!form || !button || !status) return;
  if (!window.PublicKeyCredential || !navigator.credentials) {
    status.textContent = 'This browser does not support passkeys.';
    return;
  }
  button.hidden = false;
  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
    var bin = atob(b64 + '===='.slice(0, (4 - (b64.length % 4)) % 4));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  button.addEventListener('click', function () {
    button.disabled = true;
    status.textContent = '';
    var body = new URLSearchParams();
    body.set('csrf', form.elements.namedItem('csrf').value);
    body.set('pendingSignInId', form.elements.namedItem('pendingSignInId').value);
    body.set('binding', form.elements.namedItem('binding').value);
    fetch(form.getAttribute('data-options'), { method: 'POST', credentials: 'same-origin', body: body })
      .then(function (res) {
        return res.json().then(function (json) {
          if (!res.ok) throw new Error(json.message || 'Passkey sign-in is not available.');
          return json;
        });
      })
      .then(function (options) {
        options.challenge = toBytes(options.challenge);
        options.allowCredentials = (options.allowCredentials || []).map(function (c) {
          return { type: c.type, id: toBytes(c.id), transports: c.transports };
        });
        return navigator.credentials.get({ publicKey: options });
      })
      .then(function (credential) {
        if (!credential) throw new Error('No passkey was selected.');
        var r = credential.response;
        var json = {
          id: credential.id,
          rawId: toB64url(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toB64url(r.clientDataJSON),
            authenticatorData: toB64url(r.authenticatorData),
            signature: toB64url(r.signature)
          },
          clientExtensionResults: credential.getClientExtensionResults()
        };
        if (r.userHandle) json.response.userHandle = toB64url(r.userHandle);
        if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
        form.elements.namedItem('response').value = JSON.stringify(json);
        form.submit();
      })
      .catch(function (error) {
        button.disabled = false;
        status.textContent = (error && error.message) || 'The passkey could not be used.';
      });
  });
})();
`;
