// 证书登录 / 绑定证书: a signature over the server's challenge, from the USB key through the local
// bridge (the PIN goes only to 127.0.0.1), or from a PKCS#12 file opened in the page.
import { importSigningKey, openPkcs12 } from './pkcs12.js';

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
  const base64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

  /** Challenge → signature → the server; `sign(challenge)` gives {signature, algorithm, chain}. (The server reads from the certificate itself whether the key is on a USB key.) */
  const prove = async (sign) => {
    errorBox.hidden = true;
    try {
      const { nonce, challenge } = await post('challenge', { purpose: mode });
      const signed = await sign(challenge);
      const { redirectTo } = await post(mode, { nonce, ...signed });
      window.location.assign(redirectTo);
    } catch (err) {
      showError(err.message);
    }
  };

  const expiry = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  /** 企业名称（颁发者：CA，有效期至 日期）: what a clerk recognises; the token's object label only as a last resort. */
  const describe = (c) => {
    const details = [
      c.issuerName ? `颁发者：${c.issuerName}` : '',
      c.notAfter && !Number.isNaN(Date.parse(c.notAfter)) ? `有效期至 ${expiry.format(new Date(c.notAfter))}` : '',
    ].filter(Boolean);
    const holder = c.holderName || c.label || c.subject || '未命名证书';
    return details.length ? `${holder}（${details.join('，')}）` : holder;
  };

  fetch(`${bridge}/v1/certificates`)
    .then((res) => {
      if (!res.ok) throw new Error('bridge refused');
      return res.json();
    })
    .then(
      (list) => {
        const usable = Array.isArray(list) ? list.filter((c) => c && c.id && c.certificate) : [];
        for (const c of usable) {
          certificates.set(c.id, c);
          const option = document.createElement('option');
          option.value = c.id;
          option.textContent = describe(c);
          select.append(option);
        }
        if (usable.length) form.hidden = false;
        else document.getElementById('no-certificates').hidden = false;
      },
      () => {
        document.getElementById('bridge-missing').hidden = false;
      },
    )
    .finally(() => {
      document.getElementById('bridge-looking').hidden = true;
    });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = certificates.get(select.value);
    if (!chosen) {
      showError('请选择证书');
      return;
    }
    const algorithm = algorithms[chosen.keyAlgorithm] || 'RSASSA-PKCS1-v1_5-SHA256';
    prove(async (challenge) => {
      const res = await fetch(`${bridge}/v1/sign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: chosen.id,
          pin: document.getElementById('pin').value,
          data: base64(new TextEncoder().encode(challenge)),
          algorithm,
        }),
      });
      const answer = await res.json();
      if (!res.ok) throw new Error(answer.error === 'pin_incorrect' ? '证书密码（PIN）错误' : '证书签名失败');
      return { signature: answer.signature, algorithm, chain: [chosen.certificate] };
    });
  });

  const fileForm = document.getElementById('p12-form');
  fileForm?.addEventListener('submit', (event) => {
    event.preventDefault();
    prove(async (challenge) => {
      const file = document.getElementById('p12-file').files[0];
      if (!file) throw new Error('请选择证书文件');
      let opened;
      try {
        opened = await openPkcs12(new Uint8Array(await file.arrayBuffer()), document.getElementById('p12-password').value);
      } catch {
        throw new Error('无法打开证书文件：文件或密码不正确');
      }
      let signer;
      try {
        signer = await importSigningKey(opened.pkcs8);
      } catch {
        throw new Error('浏览器不支持该证书的密钥算法，请使用 USB Key 和证书助手');
      }
      const signature = await crypto.subtle.sign(signer.params, signer.key, new TextEncoder().encode(challenge));
      return {
        signature: base64(signature),
        algorithm: signer.algorithm,
        chain: opened.certificates.map(base64),
      };
    });
  });
}
