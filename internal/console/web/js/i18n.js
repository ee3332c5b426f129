// Strings in English and Simplified Chinese; the browser's language picks
// one, the switch overrides it for the session.
const en = {
  customers: 'Customers', complaints: 'Complaints', reminders: 'Reminders', dashboards: 'Dashboards', audit: 'Audit', access: 'Access report',
  signOut: 'Sign out', signIn: 'Sign in', signInLocal: 'Sign in (local runtime)', role: 'Role', user: 'User id', loading: 'Loading…',
  search: 'Search name or company', owner: 'Owner', segment: 'Segment', tag: 'Tag', stale: 'Due for review only', apply: 'Apply', next: 'Next page', first: 'First page',
  newCustomer: 'New customer', create: 'Create', save: 'Save', cancel: 'Cancel', edit: 'Edit', name: 'Name', phone: 'Phone', email: 'Email', company: 'Company',
  tags: 'Tags (comma-separated)', nationalId: 'National ID', bankAccount: 'Bank account', taxId: 'Tax ID', line1: 'Address line 1', line2: 'Address line 2', city: 'City', region: 'Region',
  postalCode: 'Postal code', country: 'Country', ownerId: 'Owner', consentReminders: 'Consents to reminders', consentMarketing: 'Consents to marketing',
  completeness: 'Completeness', missing: 'Missing', none: 'none', verify: 'Mark verified', verified: 'Verified', reviewDue: 'Review due', updated: 'Updated',
  duplicate: 'This matches an existing customer:', openDuplicate: 'open it', fixErrors: 'Please correct the fields marked below.',
  staleEdit: 'Someone changed this customer while you were editing. Their version is shown below; your changes are kept in the form.', reapply: 'Reapply my changes to the new version',
  masked: 'masked', interactions: 'Interactions', kind: 'Kind', at: 'When', summary: 'Summary', followUp: 'Follow up at', add: 'Add',
  portalLink: 'Send self-service link', linkCreated: 'Link created, valid until', revokeLinks: 'Revoke open links', export: 'Export (JSON)', erase: 'Erase customer',
  eraseConfirm: 'Type the customer\'s id to confirm erasure', erased: 'Customer erased.', notFound: 'Not found, or not yours.', forbidden: 'Your role may not do this.',
  saved: 'Saved.', myQueue: 'My queue', teamQueue: 'Team queue', status: 'Status', severity: 'Severity', breached: 'Breached only', any: 'any',
  newComplaint: 'New complaint', customerId: 'Customer id', channel: 'Channel', category: 'Category', subject: 'Subject', description: 'Description', file: 'File complaint',
  slaDue: 'SLA', overdueBy: 'overdue by', left: 'left', timeline: 'Timeline', transition: 'Move to', note: 'Note', addNote: 'Add note', resolution: 'Resolution',
  rootCause: 'Root cause', remedy: 'Remedy', assignee: 'Assignee', due: 'Due', overdue: 'Overdue', done: 'Done', markDone: 'Mark done', open: 'Open', subjectLink: 'Open subject',
  dq: 'Data quality', target: 'target', overall: 'Overall', byOwner: 'By owner', complaintTrend: 'Complaints and SLA breaches per week', ackResolve: 'Time to acknowledge / resolve (hours, mean)',
  rootCauses: 'Top root causes', growth: 'New customers per month', bySegment: 'Customers by segment', entity: 'Entity id', actor: 'Actor', from: 'From', to: 'To',
  verifyStatus: 'Audit trail verification', intact: 'Intact', broken: 'Broken', lastVerified: 'Last verified', covered: 'Covered', firstBreak: 'First break', neverVerified: 'Not verified yet.', entriesChainsDigests: 'entries · chains · digests',
  action: 'Action', fields: 'Fields', flagged: 'Flagged', refused: 'Refused', probes: 'Probes', sensitiveReads: 'Sensitive reads', day: 'Day',
  ssTitle: 'Your contact details', ssIntro: 'Please check your details and correct anything that is out of date.', ssSaved: 'Thank you — your details are updated.',
  ssExpired: 'This link has expired or has already been used. Please ask us for a new one.', ssNoToken: 'This page needs the link we sent you.', error: 'Something went wrong. Please try again.',
  // Data stewardship screens: approvals, imports, likely duplicates and merge, consent history, self-service consent.
  approvals: 'Approvals', imports: 'Imports', duplicates: 'Likely duplicates', approvalsIntro: 'Changes waiting for a second person. Nobody may approve their own request.',
  noApprovals: 'Nothing is waiting for approval.', requestedBy: 'Requested by', requestedAt: 'Requested', expiresAt: 'Expires', customer: 'Customer', approve: 'Approve', reject: 'Reject',
  approvedMsg: 'Approved: the change is applied.', rejectedMsg: 'Rejected: the change is discarded.', approveOwn: 'You made this request yourself: a different person must approve it.',
  approvalGone: 'This request was already decided, has expired, or the customer changed since it was made (it is now closed as stale): the requester has to file it again.',
  waitingApproval: 'Waiting for approval: this change is not saved until a different person approves it.', requestId: 'Request',
  ak: { billing: 'Billing change', erase: 'Erasure', merge: 'Merge' },
  importFile: 'File (CSV or JSON, up to 5 MB)', upload: 'Upload and import', importProgress: 'Import progress', rows: 'Rows', processed: 'Processed', created: 'Created', rejectedCount: 'Rejected',
  rejectedRows: 'Rejected rows', row: 'Row', errors: 'Errors', noRejected: 'No row was rejected.', chooseFile: 'Choose a file to import.', duplicateOfRow: 'duplicates',
  is: { queued: 'queued', running: 'running', done: 'done', failed: 'failed' },
  dupIntro: 'Pairs that look like the same person entered twice.', noDuplicates: 'No likely duplicates.', score: 'Score', reasons: 'Reasons', field: 'Field',
  rs: { same_name: 'same name', reordered_name: 'same name, reordered', similar_name: 'similar name', same_company: 'same company', same_email_domain: 'same e-mail domain', same_phone_tail: 'same last phone digits' },
  merge: 'Merge', mergeTitle: 'Merge into one record', survivor: 'Record to keep', keepFrom: 'Take from', thisSide: 'record kept', otherSide: 'record merged away', mergeBtn: 'Merge these records',
  merged: 'Merged. The other record now points to this one.', undo: 'Undo merge', undone: 'The merge was undone: both records are back as they were.',
  undoEdited: 'Cannot undo: these fields were edited since the merge:', undoGone: 'This merge can no longer be undone: what it kept has been purged.',
  mergePending: 'Waiting for approval: the merge changes billing, so a different person must approve it.', open2: 'Open',
  consentHistory: 'Consent history', consentLabel: 'Consent', purpose: 'Purpose', granted: 'Granted', source: 'Source', yes: 'yes', no: 'no', noConsents: 'No consent changes recorded.',
  cp: { reminders: 'Reminders', marketing: 'Marketing' }, src: { staff: 'staff', portal: 'customer (self-service)', import: 'import' },
  ssConsent: 'What we may contact you about',
  rates: { completenessRate: 'Completeness', timelinessRate: 'Timeliness', duplicateRate: 'Duplicates', invalidRate: 'Invalid entries' },
  st: { open: 'open', done: 'done', new: 'new', acknowledged: 'acknowledged', in_progress: 'in progress', resolved: 'resolved', closed: 'closed', reopened: 'reopened', escalated: 'escalated', pending: 'pending' },
};
const zh = {
  customers: '客户', complaints: '投诉', reminders: '提醒', dashboards: '仪表板', audit: '审计', access: '访问报告',
  signOut: '退出', signIn: '登录', signInLocal: '登录（本地运行）', role: '角色', user: '用户 ID', loading: '加载中…',
  search: '搜索姓名或公司', owner: '负责人', segment: '客户分群', tag: '标签', stale: '仅显示待复核', apply: '应用', next: '下一页', first: '第一页',
  newCustomer: '新建客户', create: '创建', save: '保存', cancel: '取消', edit: '编辑', name: '姓名', phone: '电话', email: '电子邮箱', company: '公司',
  tags: '标签（逗号分隔）', nationalId: '身份证号', bankAccount: '银行账号', taxId: '税号', line1: '地址第一行', line2: '地址第二行', city: '城市', region: '省/地区',
  postalCode: '邮政编码', country: '国家', ownerId: '负责人', consentReminders: '同意接收提醒', consentMarketing: '同意接收营销信息',
  completeness: '完整度', missing: '缺少', none: '无', verify: '标记为已核实', verified: '已核实', reviewDue: '复核到期', updated: '更新于',
  duplicate: '与已有客户重复：', openDuplicate: '打开', fixErrors: '请更正下面标出的字段。',
  staleEdit: '您编辑期间有人修改了该客户。下面显示其最新版本；您的修改仍保留在表单中。', reapply: '将我的修改应用到新版本',
  masked: '已遮蔽', interactions: '互动记录', kind: '类型', at: '时间', summary: '摘要', followUp: '跟进时间', add: '添加',
  portalLink: '发送自助更新链接', linkCreated: '链接已创建，有效期至', revokeLinks: '撤销未用链接', export: '导出（JSON）', erase: '删除客户',
  eraseConfirm: '输入客户 ID 以确认删除', erased: '客户已删除。', notFound: '未找到，或不属于您。', forbidden: '您的角色无权执行此操作。',
  saved: '已保存。', myQueue: '我的队列', teamQueue: '团队队列', status: '状态', severity: '严重程度', breached: '仅显示已超时', any: '全部',
  newComplaint: '新建投诉', customerId: '客户 ID', channel: '渠道', category: '类别', subject: '主题', description: '描述', file: '提交投诉',
  slaDue: 'SLA', overdueBy: '已超时', left: '剩余', timeline: '时间线', transition: '转为', note: '备注', addNote: '添加备注', resolution: '处理结果',
  rootCause: '根本原因', remedy: '补救措施', assignee: '处理人', due: '到期', overdue: '已逾期', done: '已完成', markDone: '标记完成', open: '未完成', subjectLink: '打开对象',
  dq: '数据质量', target: '目标', overall: '总体', byOwner: '按负责人', complaintTrend: '每周投诉与 SLA 超时', ackResolve: '确认 / 解决用时（小时，平均）',
  rootCauses: '主要根本原因', growth: '每月新增客户', bySegment: '按分群的客户数', entity: '实体 ID', actor: '操作者', from: '从', to: '至',
  verifyStatus: '审计链校验', intact: '完好', broken: '已损坏', lastVerified: '最近校验', covered: '覆盖范围', firstBreak: '首个断点', neverVerified: '尚未校验。', entriesChainsDigests: '条目 · 链 · 摘要',
  action: '操作', fields: '字段', flagged: '已标记', refused: '被拒', probes: '探测', sensitiveReads: '敏感读取', day: '日期',
  ssTitle: '您的联系方式', ssIntro: '请核对您的信息，并更正已过时的内容。', ssSaved: '谢谢，您的信息已更新。',
  ssExpired: '此链接已过期或已被使用。请联系我们获取新链接。', ssNoToken: '请使用我们发给您的链接打开此页面。', error: '出错了，请重试。',
  // Data stewardship screens: approvals, imports, likely duplicates and merge, consent history, self-service consent.
  approvals: '审批', imports: '导入', duplicates: '疑似重复', approvalsIntro: '等待第二人审批的变更。任何人不得审批自己提出的申请。',
  noApprovals: '没有待审批的申请。', requestedBy: '申请人', requestedAt: '申请时间', expiresAt: '过期时间', customer: '客户', approve: '批准', reject: '驳回',
  approvedMsg: '已批准：变更已生效。', rejectedMsg: '已驳回：变更已丢弃。', approveOwn: '这是您本人提出的申请，须由其他人审批。',
  approvalGone: '该申请已处理、已过期，或客户在申请后已被修改（申请已作废），请申请人重新提交。',
  waitingApproval: '等待审批：须由其他人批准后，此变更才会保存。', requestId: '申请',
  ak: { billing: '账务信息变更', erase: '删除', merge: '合并' },
  importFile: '文件（CSV 或 JSON，不超过 5 MB）', upload: '上传并导入', importProgress: '导入进度', rows: '行数', processed: '已处理', created: '已创建', rejectedCount: '已拒绝',
  rejectedRows: '被拒绝的行', row: '行号', errors: '错误', noRejected: '没有被拒绝的行。', chooseFile: '请选择要导入的文件。', duplicateOfRow: '重复于',
  is: { queued: '排队中', running: '处理中', done: '已完成', failed: '失败' },
  dupIntro: '看起来是同一人被录入两次的客户。', noDuplicates: '没有疑似重复。', score: '相似度', reasons: '原因', field: '字段',
  rs: { same_name: '姓名相同', reordered_name: '姓名相同（顺序不同）', similar_name: '姓名相近', same_company: '公司相同', same_email_domain: '邮箱域名相同', same_phone_tail: '电话尾号相同' },
  merge: '合并', mergeTitle: '合并为一条记录', survivor: '保留的记录', keepFrom: '取自', thisSide: '保留的记录', otherSide: '被合并的记录', mergeBtn: '合并这两条记录',
  merged: '已合并。另一条记录现指向此记录。', undo: '撤销合并', undone: '已撤销合并：两条记录均已恢复原状。',
  undoEdited: '无法撤销：合并后以下字段已被修改：', undoGone: '此合并已无法撤销：保留的数据已被清除。',
  mergePending: '等待审批：此合并会改变账务信息，须由其他人批准。', open2: '打开',
  consentHistory: '授权记录', consentLabel: '授权', purpose: '用途', granted: '是否同意', source: '来源', yes: '是', no: '否', noConsents: '没有授权变更记录。',
  cp: { reminders: '提醒', marketing: '营销' }, src: { staff: '员工', portal: '客户（自助）', import: '导入' },
  ssConsent: '我们可以就哪些事项联系您',
  rates: { completenessRate: '完整率', timelinessRate: '及时率', duplicateRate: '重复率', invalidRate: '无效率' },
  st: { open: '未完成', done: '已完成', new: '新建', acknowledged: '已确认', in_progress: '处理中', resolved: '已解决', closed: '已关闭', reopened: '已重开', escalated: '已升级', pending: '待处理' },
};
// Triage, bulk reassignment, webhooks and outcome KPIs: the strings of
// these screens, merged into both dictionaries.
const opsOutcomes = {
  en: {
    tri: { title: 'Triage', intro: 'Complaints filed through a channel whose contact matched no customer. Find the customer and link each one.', contact: 'Contact', filed: 'Filed',
      link: 'Link to customer', linkTitle: 'Link complaint', find: 'Find customer', matches: 'Matching customers', noMatch: 'No customer matches.', linked: 'Linked', empty: 'No unlinked complaints.' },
    ra: { title: 'Reassign book', intro: 'Move every customer of a departing rep to another. Their complaints, open reminders and self-service links follow.',
      from: 'From (departing rep\'s user id)', to: 'To (user id)', start: 'Reassign', needFrom: 'Name the rep whose customers move.', progress: 'Reassignment', moved: 'moved',
      finished: 'finished', openBook: 'Customers now owned by', book: 'Reassign this book', st: { queued: 'Queued', running: 'Running', done: 'Done' } },
    wh: { title: 'Webhooks', intro: 'Endpoints that receive domain events (ids and changed field names, never personal data), signed with their secret.', url: 'URL', events: 'Events',
      created: 'Created', enabled: 'enabled', disabled: 'disabled', delete: 'Delete', confirmDelete: 'Press again to delete', deleted: 'Webhook deleted.', deliveries: 'Delivery log',
      empty: 'No webhooks yet.', new: 'New webhook', create: 'Register', createdFor: 'Registered', secretOnce: 'Signing secret — copy it now, it is shown only this once:',
      event: 'Event', attempts: 'Attempts', lastError: 'Last error', noDeliveries: 'No deliveries yet.', st: { pending: 'pending', delivered: 'delivered', failed: 'failed, will retry', dead: 'given up' } },
    kpi: { title: 'Outcomes', satisfaction: 'Customer satisfaction (surveys after resolution)', satisfiedRate: 'Satisfied (score 4–5)', responseRate: 'Response rate', responses: 'responses', sent: 'sent',
      mean: 'Mean score', scale: 'out of 5', csatWeekly: 'Surveys sent and answered per week', met: 'met', unmet: 'not met', beyond: 'over 90 days',
      upkeep: 'Self-service and record upkeep', selfServiceRate: 'Self-service completion', links: 'links concluded', updateCycle: 'Update cycle, median', cycles: 'cycles',
      suspectRate: 'Suspect values', churn: 'Growth and churn per month', growthChurn: 'New, newly dormant, lost and reactivated customers per month', churnRate: 'Churn rate',
      month: 'Month', new: 'New', active: 'Active', newlyDormant: 'Newly dormant', reactivated: 'Reactivated', lost: 'Lost' },
  },
  zh: {
    tri: { title: '待分派', intro: '渠道提交但联系方式未匹配到客户的投诉。请找到对应客户并逐一关联。', contact: '联系方式', filed: '提交时间',
      link: '关联客户', linkTitle: '关联投诉', find: '查找客户', matches: '匹配的客户', noMatch: '没有匹配的客户。', linked: '已关联', empty: '没有未关联的投诉。' },
    ra: { title: '批量转移客户', intro: '将离职销售的全部客户转给另一人。其投诉、未完成的提醒和自助链接随之转移。',
      from: '转出人（离职者用户 ID）', to: '接收人（用户 ID）', start: '开始转移', needFrom: '请填写要转出客户的负责人。', progress: '转移进度', moved: '已转移',
      finished: '完成于', openBook: '查看现由其负责的客户：', book: '转移该负责人的客户', st: { queued: '排队中', running: '进行中', done: '已完成' } },
    wh: { title: 'Webhook', intro: '接收领域事件的端点（仅含 ID 和变更字段名，不含个人数据），以其密钥签名。', url: 'URL', events: '事件',
      created: '创建于', enabled: '已启用', disabled: '已停用', delete: '删除', confirmDelete: '再按一次以删除', deleted: 'Webhook 已删除。', deliveries: '投递记录',
      empty: '尚无 Webhook。', new: '新建 Webhook', create: '注册', createdFor: '已注册', secretOnce: '签名密钥——请立即复制，仅显示这一次：',
      event: '事件', attempts: '尝试次数', lastError: '最近错误', noDeliveries: '尚无投递。', st: { pending: '待投递', delivered: '已送达', failed: '失败，将重试', dead: '已放弃' } },
    kpi: { title: '成效', satisfaction: '客户满意度（解决后的调查）', satisfiedRate: '满意（4–5 分）', responseRate: '回复率', responses: '回复', sent: '已发送',
      mean: '平均分', scale: '满分 5', csatWeekly: '每周发送与回复的调查', met: '已达标', unmet: '未达标', beyond: '超过 90 天',
      upkeep: '自助更新与资料维护', selfServiceRate: '自助更新完成率', links: '已结束的链接', updateCycle: '更新周期（中位数）', cycles: '周期数',
      suspectRate: '可疑值比例', churn: '每月增长与流失', growthChurn: '每月新增、新沉睡、流失与重新活跃的客户', churnRate: '流失率',
      month: '月份', new: '新增', active: '活跃', newlyDormant: '新沉睡', reactivated: '重新活跃', lost: '流失' },
  },
};
Object.assign(en, opsOutcomes.en);
Object.assign(zh, opsOutcomes.zh);

const dicts = { en, 'zh-CN': zh };

function initial() {
  const saved = sessionStorage.getItem('lang');
  if (saved && dicts[saved]) return saved;
  return (navigator.languages || [navigator.language]).some((l) => /^zh/i.test(l)) ? 'zh-CN' : 'en';
}

export let lang = initial();
export const t = (k) => k.split('.').reduce((d, p) => (d == null ? d : d[p]), dicts[lang]) ?? k;

// bindSwitch wires the language select; a change re-renders through onChange.
export function bindSwitch(onChange) {
  document.documentElement.lang = lang;
  const sel = document.getElementById('lang');
  if (!sel) return;
  sel.value = lang;
  sel.addEventListener('change', () => {
    lang = sel.value;
    sessionStorage.setItem('lang', lang);
    document.documentElement.lang = lang;
    onChange();
  });
}

export const fmtDate = (s) => (s ? new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(s)) : '');
export const fmtNum = (n, o) => new Intl.NumberFormat(lang, o).format(n);
export const fmtPct = (n) => fmtNum(n, { style: 'percent', maximumFractionDigits: 1 });
export function fmtDuration(ms) {
  const a = Math.abs(ms), h = Math.floor(a / 3600e3), m = Math.floor((a % 3600e3) / 60e3), s = Math.floor((a % 60e3) / 1e3);
  const u = (v, unit) => new Intl.NumberFormat(lang, { style: 'unit', unit, unitDisplay: 'narrow' }).format(v);
  return h > 0 ? `${u(h, 'hour')} ${u(m, 'minute')}` : `${u(m, 'minute')} ${u(s, 'second')}`;
}
