// 证书登录 / 绑定证书: a signature over the server's challenge, from the USB key through the local
// bridge (the PIN goes only to 127.0.0.1), or from a PKCS#12 file opened in the page. Nothing is
// asked of the bridge before the person clicks 读取 USB Key 中的证书.
import { callHelper, HelperUnreachable, helperPermission } from './helper-client.js';
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
  /** The message, and where the clerk can act on it when there is such a page (`link`: {href, text}). */
  const showError = (text, link) => {
    errorBox.textContent = text;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.className = 'link';
      a.textContent = link.text;
      errorBox.append(' ', a);
    }
    errorBox.hidden = false;
  };
  const post = async (path, body) => {
    const res = await fetch(`${endpoint}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw Object.assign(new Error(answer.error_description || '操作失败，请重试'), { code: answer.error });
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
      if (err instanceof HelperUnreachable) {
        showHelp(err.reason);
        return;
      }
      // A file or key not bound yet: binding is in 用户空间 (after signing in with the credit code).
      showError(
        err.message,
        err.code === 'certificate_unbound' && mode === 'login'
          ? { href: '/account/certificates', text: '去用户空间绑定证书' }
          : undefined,
      );
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

  const looking = document.getElementById('bridge-looking');
  const helpPanels = {
    denied: document.getElementById('helper-denied'),
    missing: document.getElementById('bridge-missing'),
    refused: document.getElementById('helper-refused'),
  };
  /** One panel of plain-words help: allow the browser, install the helper, or ask IT. */
  const showHelp = (reason) => {
    for (const [name, panel] of Object.entries(helpPanels)) panel.hidden = name !== reason;
    form.hidden = true;
  };

  /** 读取 USB Key 中的证书 (and 重新读取): the first call to the helper, from the person's click. */
  const readCertificates = async () => {
    showHelp(undefined);
    errorBox.hidden = true;
    document.getElementById('no-certificates').hidden = true;
    looking.hidden = false;
    try {
      // Denied earlier: the browser would refuse without asking again, so say how to allow it.
      if ((await helperPermission()) === 'denied') throw new HelperUnreachable('denied');
      const res = await callHelper(bridge, '/v1/certificates');
      if (!res.ok) throw new HelperUnreachable('refused');
      const list = await res.json();
      const usable = Array.isArray(list) ? list.filter((c) => c && c.id && c.certificate) : [];
      certificates.clear();
      select.replaceChildren();
      for (const c of usable) {
        certificates.set(c.id, c);
        const option = document.createElement('option');
        option.value = c.id;
        option.textContent = describe(c);
        select.append(option);
      }
      if (usable.length) form.hidden = false;
      else document.getElementById('no-certificates').hidden = false;
    } catch (err) {
      showHelp(err instanceof HelperUnreachable ? err.reason : 'missing');
    } finally {
      looking.hidden = true;
    }
  };
  for (const button of document.querySelectorAll('[data-read-certificates]'))
    button.addEventListener('click', () => readCertificates());

  /** What each refusal of the helper means to the clerk. */
  const signRefusal = (answer) => {
    switch (answer.error) {
      case 'pin_incorrect':
        // Some keys tell how many tries are left before they lock.
        return typeof answer.triesLeft === 'number'
          ? `证书密码（PIN）错误，还可尝试 ${answer.triesLeft} 次`
          : '证书密码（PIN）错误';
      case 'pin_locked':
        return 'USB Key 已锁定：证书密码（PIN）错误次数过多。请联系颁发证书的 CA 机构解锁。';
      case 'pin_tries_paused':
        return `证书密码（PIN）连续输错多次，为保护 USB Key，请 ${answer.retryAfter || 60} 秒后再试。`;
      case 'not_a_login_challenge':
      case 'challenge_of_another_provider':
        return '证书助手拒绝签名：签名请求不是本平台的登录请求。请刷新页面后重试。';
      case 'algorithm_unsupported':
      case 'algorithm_key_mismatch':
        return '证书助手不支持该证书的签名算法，请联系本单位 IT 管理员。';
      default:
        return '证书签名失败';
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = certificates.get(select.value);
    if (!chosen) {
      showError('请选择证书');
      return;
    }
    const algorithm = algorithms[chosen.keyAlgorithm] || 'RSASSA-PKCS1-v1_5-SHA256';
    prove(async (challenge) => {
      const res = await callHelper(bridge, '/v1/sign', {
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
      if (!res.ok) throw new Error(signRefusal(answer));
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
