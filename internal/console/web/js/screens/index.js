// The console's screens. A new feature is one module here: {id, nav (an
// i18n key, when it has a menu entry), roles, detail (for #/id/<x>), render}.
import { customers } from './customers.js';
import { customer } from './customer.js';
import { complaints } from './complaints.js';
import { complaint } from './complaint.js';
import { reminders } from './reminders.js';
import { dashboards } from './dashboards.js';
import { audit } from './audit.js';
import { access } from './access.js';
// Triage, bulk reassignment and webhooks.
import { triage } from './triage.js';
import { reassign } from './reassign.js';
import { webhooks, webhook } from './webhooks.js';
// Data stewardship.
import { approvals } from './approvals.js';
import { imports } from './imports.js';
import { duplicates } from './duplicates.js';

export const screens = [customers, customer, complaints, complaint, reminders, dashboards, audit, access,
  triage, reassign, webhooks, webhook, approvals, imports, duplicates];
