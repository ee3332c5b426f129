// The local runtime's sign-in: pick a role and a user, get a token from the
// local-only endpoint. It does not exist on AWS.
import { t, bindSwitch } from './i18n.js';
import { h, mount, field } from './dom.js';
import { setLocalToken } from './auth.js';

function render() {
  const main = document.getElementById('main');
  const err = h('div', { role: 'alert' });
  const form = h('form', { class: 'panel', id: 'signin' },
    field(t('role'), 'role', { options: ['admin', 'sales', 'service', 'finance', 'auditor'].map((r) => [r, r]), value: 'sales' }),
    field(t('user'), 'user', { value: 'alice', required: true }),
    h('p', null, h('button', { class: 'primary', type: 'submit' }, t('signIn'))), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await fetch('/local/token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: form.role.value, user: form.user.value.trim() }) });
    if (!r.ok) { mount(err, h('p', { class: 'alert' }, await r.text())); return; }
    setLocalToken((await r.json()).token);
    location.assign('/');
  });
  mount(main, h('h1', null, t('signInLocal')), form);
}
bindSwitch(render);
render();
document.body.dataset.ready = '1';
