// Progressive enhancement only: every form works without this script.

/** A new captcha picture (the server makes a new captcha with each load). */
function refreshCaptcha(scope) {
  for (const img of scope.querySelectorAll('img[data-refresh]')) img.src = `/captcha?t=${Date.now()}`;
}

for (const img of document.querySelectorAll('img[data-refresh]')) {
  const refresh = (event) => {
    event?.preventDefault();
    img.src = `/captcha?t=${Date.now()}`;
  };
  img.addEventListener('click', refresh);
  for (const link of document.querySelectorAll('[data-refresh-link]')) link.addEventListener('click', refresh);
}

/** The captcha a 获取验证码 button needs, if any (a code to the account's own phone needs none). */
function captchaOf(button) {
  return button.hasAttribute('data-no-captcha') ? null : button.form?.querySelector('[data-captcha]');
}

/**
 * 重新发送 only after the interval: the button counts down from `seconds`, and the captcha of its
 * form (needed again only to re-send) stays out of the way until then.
 */
function countDown(button, seconds) {
  const captcha = captchaOf(button);
  let left = Math.ceil(Number(seconds) || 0);
  clearTimeout(button.countdownTimer);
  if (left <= 0) return;
  button.disabled = true;
  if (captcha && button.hasAttribute('data-sms-send')) captcha.hidden = true;
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = '重新发送';
      if (captcha?.hidden) {
        captcha.hidden = false;
        refreshCaptcha(captcha);
      }
      return;
    }
    button.textContent = `${left}秒后重新发送`;
    left -= 1;
    button.countdownTimer = setTimeout(tick, 1000);
  };
  tick();
}

for (const button of document.querySelectorAll('button[data-countdown]')) {
  countDown(button, button.dataset.countdown);
}

/**
 * 获取验证码 in the background: the form is not reloaded, so nothing typed (passwords included)
 * is lost. The CSRF token goes in a header; passwords are not sent, since sending a code does
 * not need them.
 */
for (const button of document.querySelectorAll('button[data-sms-send]')) {
  const form = button.form;
  const status = form?.querySelector('[data-sms-status]');
  if (!form || !status) continue;
  const say = (text, isError) => {
    status.textContent = text;
    status.classList.toggle('error', isError);
    status.setAttribute('role', isError ? 'alert' : 'status');
    status.hidden = !text;
  };
  button.addEventListener('click', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    // A phone number that can not be one is told at once, beside its field, not after a round trip
    // (a code to the account's own phone, data-no-captcha, needs no number typed).
    const phoneProblems = button.hasAttribute('data-no-captcha')
      ? []
      : problemsOf(form).filter((p) => p.input.dataset.check === 'phone');
    if (phoneProblems.length) {
      showProblems(form, phoneProblems);
      return;
    }
    const body = new URLSearchParams();
    for (const element of form.elements) {
      if (!element.name || element.name === '_csrf' || element.type === 'password') continue;
      if (element.type === 'submit' || ((element.type === 'checkbox' || element.type === 'radio') && !element.checked))
        continue;
      body.append(element.name, element.value);
    }
    body.set('action', 'send_sms');
    // A form with several 获取验证码 (one per phone) tells them apart by the button's own value.
    if (button.name && button.name !== 'action') body.set(button.name, button.value);
    button.disabled = true;
    say('', false);
    let answer = {};
    let ok = false;
    try {
      // form.action would be the buttons named "action", not the attribute.
      const res = await fetch(button.getAttribute('formaction') ?? form.getAttribute('action'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          'x-csrf-token': form.elements.namedItem('_csrf')?.value ?? '',
        },
        body,
      });
      ok = res.ok;
      answer = await res.json().catch(() => ({}));
    } catch {
      answer = { error_description: '网络连接失败，请稍后重试' };
    }
    const captcha = captchaOf(button);
    const captchaInput = captcha?.querySelector('input');
    if (ok) {
      // An earlier answer of the page (say, 注册 pressed too soon) no longer applies.
      for (const stale of document.querySelectorAll('main > .message.error')) stale.remove();
      for (const input of form.querySelectorAll('[data-check="phone"][aria-invalid="true"]')) unmarkField(input);
      say(answer.notice ?? '验证码已发送', false);
      if (captchaInput) captchaInput.value = '';
      countDown(button, answer.resendAfterSeconds ?? 60);
      form.querySelector('input[name=sms_code]')?.focus();
      return;
    }
    say(answer.error_description ?? '发送失败，请稍后重试', true);
    // A refusal that names its fields marks them, as a refused submit does.
    const marked = (answer.errors ?? [])
      .map((p) => ({ input: form.querySelector(`#${CSS.escape(p.field)}`), text: p.message }))
      .filter((p) => p.input);
    if (marked.length) showProblems(form, marked, false);
    // The attempt used the captcha up: a new one.
    if (captcha) {
      if (captchaInput) captchaInput.value = '';
      refreshCaptcha(captcha);
    }
    button.disabled = false;
    if (answer.retry_after) countDown(button, answer.retry_after);
  });
}

/*
 * Form errors, marked as the server marks them (src/web/field-marks.ts, views/_errors.eta):
 * each beside its field (aria-invalid, aria-describedby to its message) and listed at the top
 * as links to the fields; focus goes to the first. The rules a browser can check
 * (form-rules.js: public arithmetic, the server checks everything again) are checked before a
 * submit, so a mistyped check character or a mismatched password costs no round trip.
 */

/** Where a field's message goes: after the field, or after the row or box it sits in. */
function messageAnchor(input) {
  return input.closest('.check, .captcha-row') ?? input;
}

function unmarkField(input) {
  document.getElementById(`${input.id}-error`)?.remove();
  input.removeAttribute('aria-invalid');
  const rest = (input.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .filter((id) => id && id !== `${input.id}-error`);
  if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
  else input.removeAttribute('aria-describedby');
}

function unmarkFields(form) {
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) unmarkField(input);
}

function markField(input, text) {
  const message = document.createElement('p');
  message.className = 'field-error';
  message.id = `${input.id}-error`;
  message.textContent = text;
  messageAnchor(input).after(message);
  input.setAttribute('aria-invalid', 'true');
  const rest = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  input.setAttribute('aria-describedby', [message.id, ...rest].join(' '));
}

/** The summary at the top, as views/_errors.eta draws it: one link per problem. */
function showSummary(form, problems) {
  const summary = document.createElement('div');
  summary.className = 'message error error-summary';
  summary.setAttribute('role', 'alert');
  summary.id = 'error-summary';
  summary.tabIndex = -1;
  summary.dataset.errorSummary = '';
  const list = document.createElement('ul');
  for (const { input, text } of problems) {
    const link = document.createElement('a');
    link.href = `#${input.id}`;
    link.textContent = text;
    const item = document.createElement('li');
    item.append(link);
    list.append(item);
  }
  summary.append(list);
  const earlier = document.querySelector('[data-error-summary]');
  if (earlier) earlier.replaceWith(summary);
  else form.before(summary);
}

/** The problems the browser finds in a form's fields that it can check, in the page's order. */
function problemsOf(form) {
  const rules = globalThis.formRules;
  if (!rules) return [];
  const valueOf = (check) => form.querySelector(`[data-check="${check}"]`)?.value ?? '';
  const problems = [];
  for (const input of form.querySelectorAll('[data-check]')) {
    // A field the page does not show now (the other path of 更换手机号) is not sent as typed.
    if (input.disabled || input.getClientRects().length === 0) continue;
    const value = input.value;
    let text = '';
    switch (input.dataset.check) {
      case 'phone':
        text = value.trim() ? rules.phone(value) : '';
        break;
      case 'id-number':
        text = value.trim() ? rules.idNumber(value) : '';
        break;
      case 'credit-code':
        text = value.trim() ? rules.creditCode(value) : '';
        break;
      case 'password':
        text = value ? rules.password(value, { phone: valueOf('phone'), idNumber: valueOf('id-number') }) : '';
        break;
      case 'password-confirm': {
        const other = form.elements.namedItem(input.dataset.match ?? 'password');
        text = other && other.value !== value ? '两次输入的密码不一致' : '';
        break;
      }
      case 'agree':
        text = input.checked ? '' : '请阅读并同意《用户注册协议》';
        break;
    }
    if (text) problems.push({ input, text });
  }
  return problems;
}

/** Marks each problem on its field and lists them at the top; focus on the first (or stays). */
function showProblems(form, problems, focus = true) {
  unmarkFields(form);
  for (const { input, text } of problems) markField(input, text);
  showSummary(form, problems);
  if (focus) problems[0].input.focus();
}

for (const form of document.querySelectorAll('form')) {
  if (!form.querySelector('[data-check]')) continue;
  form.addEventListener('submit', (event) => {
    // 获取验证码 and the like need only their own fields.
    if (event.submitter?.hasAttribute('formnovalidate')) return;
    const problems = problemsOf(form);
    if (!problems.length) return;
    event.preventDefault();
    showProblems(form, problems);
  });
}

// A page drawn again with errors: focus on the first field to fix (the summary, role=alert,
// is read out), or on the summary when the error is about the whole form.
{
  const summary = document.querySelector('[data-error-summary]');
  if (summary) {
    const first = document.querySelector('main [aria-invalid="true"]');
    (first ?? summary).focus();
  }
}
