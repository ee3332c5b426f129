package crm

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Satisfaction surveys. When a complaint is resolved, a customer who
// agreed to be contacted about service is sent a signed, expiring link to
// rate the resolution from 1 to 5. The answer joins the complaint's
// timeline; a low one tells the escalation target (or the admins) that the
// complaint can be reopened. The survey's record is an item of its own, so
// sending and answering are visible on the table's stream, where the report
// aggregates count them.

// Notification kinds of surveys.
const (
	// NotifySurveyRequested sends the customer the survey link.
	NotifySurveyRequested = "complaint_survey_requested"
	// NotifySurveyLowScore tells staff that a customer rated a
	// resolution 1 or 2, and that the complaint can be reopened.
	NotifySurveyLowScore = "complaint_survey_low_score"
)

// RecipientRole addresses everyone holding a role (RecipientID names it).
const RecipientRole = "role"

// ActionSurveyAnswered is the timeline entry of a customer's answer.
const ActionSurveyAnswered = "survey_answered"

// Survey scores, and the share of satisfied answers (4 or 5) that the
// satisfaction target is measured against.
const (
	MinSurveyScore       = 1
	MaxSurveyScore       = 5
	SatisfiedScore       = 4
	LowSurveyScore       = 2
	MaxSurveyComment     = 2000
	DefaultSurveyTarget  = 0.90
	SurveyPerToken       = 30
	SurveyPerAddress     = 120
	defaultSurveyTTL     = 14 * 24 * time.Hour
	maxSurveyAnswerRetry = 5
)

// Survey is one satisfaction survey: sent when its complaint was resolved,
// answered at most once. It holds ids and the complaint's category, never
// personal data; the answer's comment lives, sealed, in the timeline.
type Survey struct {
	ID          string
	ComplaintID string
	CustomerID  string
	Category    string
	// AssigneeID is who resolved the complaint, whom the answer counts for.
	AssigneeID string
	Language   string
	ResolvedAt time.Time
	SentAt     time.Time
	ExpiresAt  time.Time
	AnsweredAt time.Time
	Score      int
}

// Answered reports whether the survey was answered.
func (s Survey) Answered() bool { return !s.AnsweredAt.IsZero() }

// SurveyQuestions are the questions of a survey, in the customer's language.
type SurveyQuestions struct {
	Score   string `json:"score"`
	Comment string `json:"comment"`
}

// SurveyView is what the holder of a survey link sees: what the survey is
// about, without personal data.
type SurveyView struct {
	Category   string          `json:"category"`
	ResolvedAt time.Time       `json:"resolvedAt"`
	ExpiresAt  time.Time       `json:"expiresAt"`
	Language   string          `json:"language"`
	Questions  SurveyQuestions `json:"questions"`
	Answered   bool            `json:"answered"`
}

// SurveyAnswer is the customer's answer. Score is a pointer so that a
// missing score is told from a zero.
type SurveyAnswer struct {
	Score   *int   `json:"score"`
	Comment string `json:"comment"`
}

// SurveyReceipt confirms an answer.
type SurveyReceipt struct {
	Score      int       `json:"score"`
	AnsweredAt time.Time `json:"answeredAt"`
}

// SurveyStore keeps surveys.
type SurveyStore interface {
	// ResolveWithSurvey is ComplaintStore.UpdateComplaint that also
	// records the survey, in the same write: EPRECONDITION when the
	// complaint moved meanwhile.
	ResolveWithSurvey(ctx context.Context, prev, next Complaint, entry TimelineEntry, sv Survey, notes []Notification, a Audit) error
	// GetSurvey returns ENOTFOUND when there is no such survey.
	GetSurvey(ctx context.Context, id string) (Survey, error)
	// AnswerSurvey records the answer on the survey and appends entry to
	// the complaint's timeline (prev becomes next), with notes, in one
	// write. Returns ECONFLICT when the survey was already answered, and
	// EPRECONDITION when the complaint moved meanwhile.
	AnswerSurvey(ctx context.Context, sv Survey, prev, next Complaint, entry TimelineEntry, notes []Notification, a Audit) error
	// Allow counts one request against a limit of max per window for key,
	// as PortalStore.Allow.
	Allow(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error)
	// MarkNotification records the outcome of a notification's delivery.
	MarkNotification(ctx context.Context, n Notification, delivered bool, attempts int, at time.Time) error
}

// Surveys runs the satisfaction surveys.
type Surveys struct {
	Store      SurveyStore
	Complaints ComplaintStore
	// Tokens signs survey tokens: the portal's machinery under its own
	// purpose, so a portal token is not a survey token.
	Tokens TokenSigner
	// BaseURL is the survey page; the token follows it as the URL's
	// fragment, which browsers never send, so no log records it.
	BaseURL string
	// TTL is how long a survey link is valid (default 14 days).
	TTL time.Duration
	// DefaultLanguage is the language of customers who chose none.
	DefaultLanguage string
	// EscalateTo hears of low scores (SLA_ESCALATE_TO); without one, the
	// admins do.
	EscalateTo string
	Notifier   Notifier
	Now        func() time.Time
}

func (s *Surveys) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Surveys) ttl() time.Duration {
	if s.TTL <= 0 {
		return defaultSurveyTTL
	}
	return s.TTL
}

// SurveyID is the id of the survey sent for the resolution recorded at
// timeline position seq: one per resolution, the same on a retry.
func SurveyID(complaintID string, seq int) string { return fmt.Sprintf("s_%s_%d", complaintID, seq) }

// plan returns the survey a resolution owes the customer, and its
// notification, or ok false when the customer is gone or did not agree to
// service contact.
func (s *Surveys) plan(cust Customer, next Complaint, entry TimelineEntry) (sv Survey, n Notification, ok bool) {
	if !cust.Consent.Reminders {
		return Survey{}, Notification{}, false
	}
	lang := cust.Language
	if lang == "" {
		lang = s.DefaultLanguage
	}
	sv = Survey{ID: SurveyID(next.ID, entry.Seq), ComplaintID: next.ID, CustomerID: cust.ID, Category: next.Category,
		AssigneeID: next.AssigneeID, Language: lang, ResolvedAt: next.ResolvedAt, SentAt: next.ResolvedAt,
		ExpiresAt: next.ResolvedAt.Add(s.ttl())}
	n = Notification{ID: "n_" + sv.ID + "_" + NotifySurveyRequested, Kind: NotifySurveyRequested, RecipientType: RecipientCustomer,
		RecipientID: cust.ID, SubjectType: "complaint", SubjectID: next.ID, At: next.ResolvedAt,
		LinkID: sv.ID, LinkExpiresAt: sv.ExpiresAt, Language: lang}
	return sv, n, true
}

// complete fills in, at sending time, what a survey notification carries
// but is never stored: the link (the customer's credential) and the text,
// in the recipient's language.
func (s *Surveys) complete(n *Notification) {
	switch n.Kind {
	case NotifySurveyRequested:
		if n.LinkID != "" {
			n.Link = s.url(n.LinkID, n.RecipientID, n.LinkExpiresAt)
		}
		n.Text = surveyText(n.Language).invite
	case NotifySurveyLowScore:
		n.Text = surveyText(n.Language).lowScore
	}
}

func (s *Surveys) url(id, customerID string, expires time.Time) string {
	return strings.TrimSuffix(s.BaseURL, "/") + "#" + s.Tokens.SignPortal(id, customerID, expires)
}

// open checks a survey token, cheapest first as the portal does: length
// and signature without I/O, then the rate limits, then the record.
func (s *Surveys) open(ctx context.Context, token, clientAddr string) (Survey, error) {
	now := s.now()
	if len(token) > MaxPortalToken {
		return Survey{}, errLink()
	}
	id, customerID, expires, ok := s.Tokens.OpenPortal(token)
	if !ok || !now.Before(expires) {
		return Survey{}, errLink()
	}
	for _, lim := range []limit{{"survey#addr#" + s.Tokens.LimitKey(clientAddr), SurveyPerAddress}, {"survey#link#" + id, SurveyPerToken}} {
		allowed, err := s.Store.Allow(ctx, lim.key, lim.max, time.Hour, now)
		if err != nil {
			return Survey{}, err
		}
		if !allowed {
			return Survey{}, Errorf(ETHROTTLED, "too many requests; try again later")
		}
	}
	sv, err := s.Store.GetSurvey(ctx, id)
	if err != nil || sv.CustomerID != customerID || !now.Before(sv.ExpiresAt) {
		return Survey{}, errLink()
	}
	return sv, nil
}

// View shows what a survey is about.
func (s *Surveys) View(ctx context.Context, token, clientAddr string) (SurveyView, error) {
	sv, err := s.open(ctx, token, clientAddr)
	if err != nil {
		return SurveyView{}, err
	}
	t := surveyText(sv.Language)
	return SurveyView{Category: sv.Category, ResolvedAt: sv.ResolvedAt, ExpiresAt: sv.ExpiresAt, Language: t.lang,
		Questions: SurveyQuestions{Score: t.score, Comment: t.comment}, Answered: sv.Answered()}, nil
}

// Validate checks an answer, naming every invalid field.
func (in SurveyAnswer) Validate() error {
	var v Invalid
	switch {
	case in.Score == nil:
		v.Add("score", "required", "is required")
	case *in.Score < MinSurveyScore || *in.Score > MaxSurveyScore:
		v.Add("score", "range", fmt.Sprintf("must be from %d to %d", MinSurveyScore, MaxSurveyScore))
	}
	checkText(&v, "comment", in.Comment, false, MaxSurveyComment)
	return v.Err()
}

// Answer records the customer's answer, once: a second answer is
// ECONFLICT and changes nothing. A score of LowSurveyScore or less tells
// the escalation target, or the admins, that the complaint can be reopened.
func (s *Surveys) Answer(ctx context.Context, token, clientAddr string, in SurveyAnswer) (SurveyReceipt, error) {
	sv, err := s.open(ctx, token, clientAddr)
	if err != nil {
		return SurveyReceipt{}, err
	}
	if err := in.Validate(); err != nil {
		return SurveyReceipt{}, err
	}
	answered := func() error { return Errorf(ECONFLICT, "this survey has already been answered") }
	if sv.Answered() {
		return SurveyReceipt{}, answered()
	}
	customer := Actor{ID: "customer:" + sv.CustomerID, Roles: []Role{"customer"}}
	for attempt := 1; ; attempt++ {
		prev, err := s.Complaints.GetComplaint(ctx, sv.ComplaintID)
		if err != nil {
			return SurveyReceipt{}, errLink()
		}
		now := s.now()
		next := prev
		next.UpdatedAt, next.Version, next.TimelineLen = now, prev.Version+1, prev.TimelineLen+1
		entry := TimelineEntry{Seq: next.TimelineLen, At: now, ActorID: customer.ID, Action: ActionSurveyAnswered,
			Note: strings.TrimSpace(in.Comment), Score: *in.Score}
		done := sv
		done.AnsweredAt, done.Score = now, *in.Score
		var notes []Notification
		if *in.Score <= LowSurveyScore {
			n := Notification{ID: "n_" + sv.ID + "_" + NotifySurveyLowScore, Kind: NotifySurveyLowScore,
				RecipientType: RecipientStaff, RecipientID: s.EscalateTo, SubjectType: "complaint", SubjectID: sv.ComplaintID,
				At: now, Language: s.DefaultLanguage}
			if s.EscalateTo == "" {
				n.RecipientType, n.RecipientID = RecipientRole, string(RoleAdmin)
			}
			notes = append(notes, n)
		}
		a := NewAudit(ctx, customer, "complaint.survey_answer", "complaint", sv.ComplaintID, "timeline", "survey")
		a.Client = s.Tokens.LimitKey(clientAddr)
		err = s.Store.AnswerSurvey(ctx, done, prev, next, entry, notes, a)
		if ErrorCode(err) == EPRECONDITION && attempt < maxSurveyAnswerRetry {
			continue // staff moved the complaint meanwhile: answer on the newer version
		}
		if ErrorCode(err) == ECONFLICT {
			return SurveyReceipt{}, answered()
		}
		if err != nil {
			return SurveyReceipt{}, err
		}
		deliver(ctx, s.Notifier, s.Store, notes, 1, now, s.complete)
		return SurveyReceipt{Score: done.Score, AnsweredAt: now}, nil
	}
}

// surveyTexts are the words of a survey in one language.
type surveyTexts struct {
	lang                             string
	invite, score, comment, lowScore string
}

// surveyCatalog holds the languages surveys speak; a customer's language
// picks the entry of its primary subtag, English when there is none.
var surveyCatalog = map[string]surveyTexts{
	"en": {lang: "en", invite: "Your complaint has been resolved. How satisfied are you with how we handled it? It takes a minute:",
		score:    "How satisfied are you with how your complaint was resolved? (1 = very dissatisfied, 5 = very satisfied)",
		comment:  "Anything you would like to tell us? (optional)",
		lowScore: "A customer rated the resolution of this complaint 1 or 2 out of 5. The complaint can be reopened."},
	"zh": {lang: "zh", invite: "您的投诉已处理完毕。您对我们的处理满意吗？请花一分钟告诉我们：",
		score: "您对投诉的处理结果满意吗？（1 = 非常不满意，5 = 非常满意）", comment: "还有什么想告诉我们的吗？（可选）",
		lowScore: "客户对该投诉的处理结果评分为 1 或 2 分（满分 5 分）。该投诉可以重新打开。"},
}

func surveyText(lang string) surveyTexts {
	primary, _, _ := strings.Cut(strings.ToLower(lang), "-")
	t, ok := surveyCatalog[primary]
	if !ok {
		t = surveyCatalog["en"]
	}
	if lang != "" && ok {
		t.lang = lang
	}
	return t
}

// languageRe is the form of a BCP 47 tag: subtags of letters and digits
// joined by hyphens, the first all letters.
var languageRe = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// CanonicalLanguageForm accepts a language tag by its form alone and
// returns it unchanged: for processes that only re-read stored tags.
func CanonicalLanguageForm(tag string) (string, bool) { return tag, languageRe.MatchString(tag) }

// standardizeLanguage returns the canonical form of a customer's language
// tag; "" stays "" (the configured default applies).
func (p Policy) standardizeLanguage(v *Invalid, raw string) string {
	tag := strings.TrimSpace(raw)
	if tag == "" {
		return ""
	}
	canon := p.CanonicalLanguage
	if canon == nil {
		canon = CanonicalLanguageForm
	}
	out, ok := canon(tag)
	if !ok || len(tag) > 35 || !languageRe.MatchString(tag) {
		v.Add("language", "invalid_language", "must be a BCP 47 language tag such as zh-CN or en")
		return tag
	}
	return out
}
