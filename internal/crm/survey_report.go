package crm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Survey aggregates: one per ISO week in which surveys were sent, holding
// the overall counters ("sent", "responses", "score", "satisfied") and the
// same per category and per assignee ("category#sent#<category>",
// "assignee#responses#<user>"): the value comes last, so a user id holding
// '#' still reads back whole.
const aggSurveyPrefix = "csat#"

// AggSurveyWeek names the survey counts of surveys sent in one ISO week.
func AggSurveyWeek(t time.Time) string { return aggSurveyPrefix + isoWeek(t) }

var surveyCounters = []string{"sent", "responses", "score", "satisfied"}

// SurveyContribution is what one survey counts for, in the week it was
// sent: sent, and once answered, a response with its score, satisfied
// when the score is SatisfiedScore or more.
func SurveyContribution(sv Survey) Contribution {
	out := Contribution{}
	agg := AggSurveyWeek(sv.SentAt)
	add := func(counter string, n int64) {
		out.add(agg, counter, n)
		out.add(agg, "category#"+counter+"#"+sv.Category, n)
		out.add(agg, "assignee#"+counter+"#"+sv.AssigneeID, n)
	}
	add("sent", 1)
	if sv.Answered() {
		add("responses", 1)
		add("score", int64(sv.Score))
		if sv.Score >= SatisfiedScore {
			add("satisfied", 1)
		}
	}
	return out
}

// SatisfactionStats are the satisfaction KPIs of a set of surveys. Met is
// false while there is no response to measure.
type SatisfactionStats struct {
	Sent          int64   `json:"sent"`
	Responses     int64   `json:"responses"`
	ResponseRate  float64 `json:"responseRate"`
	SatisfiedRate float64 `json:"satisfiedRate"`
	Mean          float64 `json:"mean"`
	Target        float64 `json:"target"`
	Met           bool    `json:"met"`
}

// SatisfactionWeek is one ISO week's satisfaction.
type SatisfactionWeek struct {
	Week string `json:"week"`
	SatisfactionStats
}

// Satisfaction is the complaint report's satisfaction section, for the
// surveys sent in the report's weeks.
type Satisfaction struct {
	SatisfactionStats
	ByCategory map[string]SatisfactionStats `json:"byCategory"`
	ByAssignee map[string]SatisfactionStats `json:"byAssignee"`
	Weekly     []SatisfactionWeek           `json:"weekly"`
}

func satisfactionStats(sent, responses, score, satisfied int64, target float64) SatisfactionStats {
	s := SatisfactionStats{Sent: sent, Responses: responses, ResponseRate: rate(responses, sent),
		SatisfiedRate: rate(satisfied, responses), Target: target}
	if responses > 0 {
		s.Mean = float64(score) / float64(responses)
		s.Met = s.SatisfiedRate >= target
	}
	return s
}

func (r *Reports) surveyTarget() float64 {
	if r.SatisfactionTarget <= 0 {
		return DefaultSurveyTarget
	}
	return r.SatisfactionTarget
}

// satisfaction sums the survey aggregates of weeks.
func (r *Reports) satisfaction(ctx context.Context, weeks []string) (Satisfaction, error) {
	names := make([]string, len(weeks))
	for i, w := range weeks {
		names[i] = aggSurveyPrefix + w
	}
	aggs, err := r.Store.Aggregates(ctx, names)
	if err != nil {
		return Satisfaction{}, err
	}
	target := r.surveyTarget()
	out := Satisfaction{ByCategory: map[string]SatisfactionStats{}, ByAssignee: map[string]SatisfactionStats{}, Weekly: []SatisfactionWeek{}}
	total := Counts{}
	for i, name := range names {
		c := aggs[name]
		out.Weekly = append(out.Weekly, SatisfactionWeek{Week: weeks[i],
			SatisfactionStats: satisfactionStats(c["sent"], c["responses"], c["score"], c["satisfied"], target)})
		for k, v := range c {
			total[k] += v
		}
	}
	out.SatisfactionStats = satisfactionStats(total["sent"], total["responses"], total["score"], total["satisfied"], target)
	for dim, into := range map[string]map[string]SatisfactionStats{"category": out.ByCategory, "assignee": out.ByAssignee} {
		by := map[string]Counts{}
		for k, v := range total {
			d, rest, _ := strings.Cut(k, "#")
			counter, key, ok := strings.Cut(rest, "#")
			if d != dim || !ok || !slices.Contains(surveyCounters, counter) {
				continue
			}
			if by[key] == nil {
				by[key] = Counts{}
			}
			by[key][counter] += v
		}
		for key, c := range by {
			if c["sent"] != 0 {
				into[key] = satisfactionStats(c["sent"], c["responses"], c["score"], c["satisfied"], target)
			}
		}
	}
	return out, nil
}
