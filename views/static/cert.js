// 证书登录 / 绑定证书: lists the certificates the local bridge sees, has it sign the server's
// challenge after the PIN, and posts the certificate chain and signature back.
const app = document.getElementById('cert-app');
if (app) {
  const { mode, endpoint, csrf, bridge } = app.dataset;
  const form = document.getElementById('cert-form');
  const select = document.getElementById('cert');
  const errorBox = document.getElementById('cert-error');
  const certificates = new Map();
  const algorithms = {
    RSA: 'RSASSA-PKCS1-v1_5-SHA256',
    'EC-P256': 'ECDSA-P256-SHA256',
    'EC-P384': 'ECDSA-P384-SHA384',
    SM2: 'SM2-SM3',
  };
  const showError = (text) => {
    errorBox.textContent = text;
    errorBox.hidden = false;
  };
  const post = async (path, body) => {
    const res = await fetch(`${endpoint}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(answer.error_description || '操作失败，请重试');
    return answer;
  };
  const toBase64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

  fetch(`${bridge}/v1/certificates`)
    .then((res) => res.json())
    .then((list) => {
      for (const c of list) {
        certificates.set(c.id, c);
        const option = document.createElement('option');
        option.value = c.id;
        option.textContent = `${c.label || c.subject}`;
        select.append(option);
      }
      if (!list.length) throw new Error('no certificates');
      form.hidden = false;
    })
    .catch(() => {
      document.getElementById('bridge-missing').hidden = false;
    });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const chosen = certificates.get(select.value);
    const algorithm = algorithms[chosen.keyAlgorithm] || 'RSASSA-PKCS1-v1_5-SHA256';
    try {
      const { nonce, challenge } = await post('challenge', { purpose: mode });
      const signed = await fetch(`${bridge}/v1/sign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: chosen.id, pin: document.getElementById('pin').value, data: toBase64(challenge), algorithm }),
      });
      const signature = await signed.json();
      if (!signed.ok) throw new Error(signature.error === 'pin_incorrect' ? '证书密码（PIN）错误' : '证书签名失败');
      const { redirectTo } = await post(mode, {
        nonce,
        chain: [chosen.certificate],
        signature: signature.signature,
        algorithm,
        source: 'bridge',
      });
      window.location.assign(redirectTo);
    } catch (err) {
      showError(err.message);
    }
  });
}
