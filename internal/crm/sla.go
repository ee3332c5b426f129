package crm

import (
	"strconv"
	"strings"
	"time"
)

// Complaint severities.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Severities lists the complaint severities from least to most severe, so a
// higher index is more severe.
var Severities = []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// SeverityRank returns s's index in Severities, so severities compare by rank,
// or -1 if s is not a severity.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// maxScanDays bounds the days Add and Elapsed walk through, so that a
// calendar whose every working day is a holiday cannot make them loop for
// ever. Time beyond the scanned span counts as calendar time.
const maxScanDays = 3660

// dateLayout is the layout of holiday keys.
const dateLayout = "2006-01-02"

// Calendar says which instants count towards an SLA.
//
// In business time each working day counts from the instant the local clock
// of Location reads Open to the instant it reads Close, and the time counted
// is the real time elapsed between those instants. A daylight-saving change
// outside working hours (the usual case: clocks change at 02:00 or 03:00)
// therefore leaves the day at Close−Open, e.g. 09:00–18:00 is 9 hours on the
// day the clocks change; a change inside working hours makes that day an hour
// shorter (spring) or longer (autumn), because that is how long the office was
// actually open. A wall time that occurs twice (autumn) means its first
// occurrence; a wall time the clocks skip (spring) means the instant the clocks
// jump past it, i.e. the earliest instant whose wall time is at or after it.
//
// A business calendar with no workdays, or without 0 <= Open < Close <= 24h,
// cannot count anything; ParseCalendar rejects it, and Add and Elapsed treat
// one built by hand as calendar time rather than search for working time that
// never comes.
type Calendar struct {
	// Business false means every hour counts (calendar time).
	Business bool
	// Location is where working hours and holidays are reckoned; nil means UTC.
	Location *time.Location
	// Workdays is indexed by time.Weekday.
	Workdays [7]bool
	// Open and Close are the working hours as offsets from local midnight,
	// e.g. 9h and 18h; Open < Close.
	Open, Close time.Duration
	// Holidays holds local dates "2006-01-02" that are not working days.
	Holidays map[string]bool
}

// DefaultCalendar returns calendar time.
func DefaultCalendar() Calendar {
	return Calendar{Location: time.UTC}
}

// BusinessCalendar returns Mon–Fri 09:00–18:00 in loc (UTC if nil) with no
// holidays.
func BusinessCalendar(loc *time.Location) Calendar {
	if loc == nil {
		loc = time.UTC
	}
	c := Calendar{Business: true, Location: loc, Open: 9 * time.Hour, Close: 18 * time.Hour}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Workdays[d] = true
	}
	return c
}

// ParseCalendar builds a calendar from configuration strings:
//
//   - clock: "calendar" or "business" (case-insensitive);
//   - tz: an IANA name such as "Asia/Shanghai"; "" means UTC;
//   - days: ranges and lists of English three-letter day names,
//     case-insensitive, such as "Mon-Fri" or "Mon,Tue,Thu"; a range may wrap
//     past Sunday ("Fri-Mon"); "" means Mon-Fri;
//   - hours: "09:00-18:00", where the close may be "24:00"; "" means
//     09:00-18:00;
//   - holidays: local dates such as "2026-12-25,2027-01-01".
//
// Settings that are not empty are checked even for calendar time, so that a
// mistake surfaces when the configuration is loaded rather than when someone
// switches to business time. It returns an EINVALID *Error naming every bad
// setting ("clock", "tz", "days", "hours", "holidays").
func ParseCalendar(clock, tz, days, hours, holidays string) (Calendar, error) {
	var v Invalid
	c := BusinessCalendar(time.UTC)
	switch strings.ToLower(strings.TrimSpace(clock)) {
	case "calendar":
		c.Business = false
	case "business":
	default:
		v.Add("clock", "enum", "must be calendar or business")
	}
	// "Local" is the machine's zone, which would make SLAs depend on where the
	// code happens to run.
	if tz = strings.TrimSpace(tz); tz == "Local" {
		v.Add("tz", "timezone", "must be an IANA time zone name")
	} else if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			v.Add("tz", "timezone", "must be an IANA time zone name")
		} else {
			c.Location = loc
		}
	}
	if strings.TrimSpace(days) != "" {
		wd, ok := parseWorkdays(days)
		if ok {
			c.Workdays = wd
		} else {
			v.Add("days", "format", "must be day names or ranges such as Mon-Fri or Mon,Tue,Thu")
		}
	}
	if strings.TrimSpace(hours) != "" {
		open, close, ok := parseHours(hours)
		if ok {
			c.Open, c.Close = open, close
		} else {
			v.Add("hours", "format", "must be HH:MM-HH:MM with the opening before the close")
		}
	}
	if strings.TrimSpace(holidays) != "" {
		h, ok := parseHolidays(holidays)
		if ok {
			c.Holidays = h
		} else {
			v.Add("holidays", "format", "must be dates YYYY-MM-DD separated by commas")
		}
	}
	if len(v) > 0 {
		return Calendar{}, settingsError("invalid SLA calendar settings", v)
	}
	return c, nil
}

// settingsError names the bad settings in its message too, because
// configuration errors are usually read in a log line, not as JSON fields.
func settingsError(what string, v Invalid) error {
	names := make([]string, len(v))
	for i, f := range v {
		names[i] = f.Field
	}
	return &Error{Code: EINVALID, Message: what + ": " + strings.Join(names, ", "), Fields: v}
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseWorkdays(s string) ([7]bool, bool) {
	var wd [7]bool
	for item := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		from, ok := dayNames[strings.ToLower(strings.TrimSpace(lo))]
		if !ok {
			return wd, false
		}
		to := from
		if isRange {
			if to, ok = dayNames[strings.ToLower(strings.TrimSpace(hi))]; !ok {
				return wd, false
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			wd[d] = true
			if d == to {
				break
			}
		}
	}
	return wd, true
}

func parseHours(s string) (open, close time.Duration, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	open, ok1 := parseClock(strings.TrimSpace(a))
	close, ok2 := parseClock(strings.TrimSpace(b))
	if !ok1 || !ok2 || open >= close {
		return 0, 0, false
	}
	return open, close, true
}

// parseClock reads "HH:MM" from 00:00 to 24:00.
func parseClock(s string) (time.Duration, bool) {
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

func parseHolidays(s string) (map[string]bool, bool) {
	h := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		d, err := time.Parse(dateLayout, strings.TrimSpace(item))
		if err != nil {
			return nil, false
		}
		h[d.Format(dateLayout)] = true
	}
	return h, true
}

// counts reports whether c counts business time; a business calendar that
// could never find working time counts calendar time instead.
func (c Calendar) counts() bool {
	if !c.Business || c.Open < 0 || c.Open >= c.Close || c.Close > 24*time.Hour {
		return false
	}
	for _, w := range c.Workdays {
		if w {
			return true
		}
	}
	return false
}

func (c Calendar) location() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// window returns the working hours of the local date day (a UTC midnight used
// as a civil date), or ok false if day is not a working day.
func (c Calendar) window(loc *time.Location, day time.Time) (open, close time.Time, ok bool) {
	if !c.Workdays[day.Weekday()] || c.Holidays[day.Format(dateLayout)] {
		return time.Time{}, time.Time{}, false
	}
	open = wallInstant(loc, day.Add(c.Open))
	close = wallInstant(loc, day.Add(c.Close))
	return open, close, close.After(open)
}

// scanStart returns the civil date (as a UTC midnight) before t's date in
// loc: scanning from a day early means a window that a daylight-saving change
// at midnight pushes into t's date is not missed.
func scanStart(loc *time.Location, t time.Time) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC)
}

// wallInstant returns the earliest instant at which the wall clock of loc
// reads naive (a civil date and time expressed in UTC) or later: the first
// occurrence of a repeated wall time, and the moment the clocks jump past a
// skipped one. time.Date leaves both cases unspecified, and in practice picks
// differently from zone to zone.
func wallInstant(loc *time.Location, naive time.Time) time.Time {
	// Every UTC offset is well within 30 hours, so the answer lies in one of
	// the zone periods overlapping [naive-30h, naive+30h].
	hi := naive.Add(30 * time.Hour)
	var best time.Time
	found := false
	t := naive.Add(-30 * time.Hour)
	for range 16 {
		local := t.In(loc)
		_, off := local.Zone()
		start, end := local.ZoneBounds()
		// Within one period the wall clock only moves forwards, so its
		// earliest instant reading naive or later is the later of naive-off
		// and the period's start.
		cand := naive.Add(-time.Duration(off) * time.Second)
		if !start.IsZero() && cand.Before(start) {
			cand = start
		}
		if (end.IsZero() || cand.Before(end)) && (!found || cand.Before(best)) {
			best, found = cand, true
		}
		if end.IsZero() || !end.Before(hi) {
			break
		}
		t = end
	}
	if !found {
		return naive
	}
	return best.UTC()
}

// Add returns the instant at which d of counting time has elapsed after
// start, in UTC.
//
// In calendar time that is start.Add(d). In business time only time inside
// the working hours of working, non-holiday days counts (see Calendar for
// daylight-saving changes): a start outside working hours begins counting at
// the next opening, and d == 0 returns start if it is inside working hours,
// else the next opening. A negative d counts as 0. Should d outlast the
// working time within 3660 days of start, the rest counts as calendar time
// from the end of that span.
func (c Calendar) Add(start time.Time, d time.Duration) time.Time {
	if !c.counts() {
		return start.Add(d).UTC()
	}
	d = max(d, 0)
	loc := c.location()
	day := scanStart(loc, start)
	for range maxScanDays {
		open, close, ok := c.window(loc, day)
		day = day.AddDate(0, 0, 1)
		if !ok || !close.After(start) {
			continue
		}
		from := open
		if start.After(open) {
			from = start
		}
		avail := close.Sub(from)
		if d <= avail {
			return from.Add(d).UTC()
		}
		d -= avail
	}
	end := wallInstant(loc, day)
	if start.After(end) {
		end = start
	}
	return end.Add(d).UTC()
}

// Elapsed returns the counting time between from and to, or 0 if to is not
// after from. Add(from, Elapsed(from, to)) equals to whenever to is inside
// counting time. Like Add, it counts calendar time beyond 3660 days of from.
func (c Calendar) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if !c.counts() {
		return to.Sub(from)
	}
	loc := c.location()
	day := scanStart(loc, from)
	var total time.Duration
	for range maxScanDays {
		open, close, ok := c.window(loc, day)
		day = day.AddDate(0, 0, 1)
		if !ok {
			continue
		}
		if !open.Before(to) {
			return total
		}
		lo, hi := open, close
		if from.After(lo) {
			lo = from
		}
		if to.Before(hi) {
			hi = to
		}
		if hi.After(lo) {
			total += hi.Sub(lo)
		}
	}
	if end := wallInstant(loc, day); to.After(end) {
		if from.After(end) {
			end = from
		}
		total += to.Sub(end)
	}
	return total
}

// SLAPolicy holds each severity's targets.
type SLAPolicy struct {
	// Acknowledge is the time to acknowledge, by severity.
	Acknowledge map[string]time.Duration
	// Resolve is the time to resolve, by severity.
	Resolve map[string]time.Duration
	// Calendar says which time counts towards the targets.
	Calendar Calendar
	// WarnAt is the share of the resolution target after which the
	// reminder run warns the assignee (default 0.75).
	WarnAt float64
}

// DefaultSLAPolicy returns the default targets on calendar time: acknowledge
// critical 15m, high 1h, medium 4h, low 8h; resolve critical 2h, high 8h,
// medium 24h, low 72h.
func DefaultSLAPolicy() SLAPolicy {
	return SLAPolicy{
		Acknowledge: map[string]time.Duration{
			SeverityCritical: 15 * time.Minute,
			SeverityHigh:     time.Hour,
			SeverityMedium:   4 * time.Hour,
			SeverityLow:      8 * time.Hour,
		},
		Resolve: map[string]time.Duration{
			SeverityCritical: 2 * time.Hour,
			SeverityHigh:     8 * time.Hour,
			SeverityMedium:   24 * time.Hour,
			SeverityLow:      72 * time.Hour,
		},
		Calendar: DefaultCalendar(),
	}
}

// Due returns when a complaint of severity opened at start must be
// acknowledged and resolved, in UTC. A due time is the zero Time when the
// policy has no target for severity, so that an unknown severity means "no
// deadline" rather than an invented one.
func (p SLAPolicy) Due(severity string, start time.Time) (ackDue, resolveDue time.Time) {
	if d, ok := p.Acknowledge[severity]; ok {
		ackDue = p.Calendar.Add(start, d)
	}
	if d, ok := p.Resolve[severity]; ok {
		resolveDue = p.Calendar.Add(start, d)
	}
	return ackDue, resolveDue
}

// Warn returns when a complaint of severity opened at start has used the
// warning share of its resolution target, on the policy's calendar; zero
// when the severity has no target.
func (p SLAPolicy) Warn(severity string, start time.Time) time.Time {
	d, ok := p.Resolve[severity]
	if !ok {
		return time.Time{}
	}
	share := p.WarnAt
	if share <= 0 || share >= 1 {
		share = 0.75
	}
	return p.Calendar.Add(start, time.Duration(float64(d)*share)).Truncate(time.Millisecond)
}

// maxTargetDays keeps "Nd" targets well inside time.Duration's range.
const maxTargetDays = 36500

// ParseSLATargets reads targets such as "critical=2h,high=8h,medium=24h,low=72h",
// each a positive Go duration or a whole number of days ("3d"). It returns an
// EINVALID *Error naming every unknown, repeated, malformed or missing
// severity; a malformed item without "=" is named "targets".
func ParseSLATargets(s string) (map[string]time.Duration, error) {
	var v Invalid
	targets := map[string]time.Duration{}
	if strings.TrimSpace(s) != "" {
		for item := range strings.SplitSeq(s, ",") {
			k, val, found := strings.Cut(item, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			switch {
			case !found || k == "":
				v.Add("targets", "format", "must be severity=duration pairs separated by commas")
				continue
			case SeverityRank(k) < 0:
				v.Add(k, "unknown", "is not a severity: use low, medium, high or critical")
				continue
			}
			if _, dup := targets[k]; dup {
				v.Add(k, "duplicate", "is given more than once")
				continue
			}
			d, ok := parseTarget(strings.TrimSpace(val))
			if !ok {
				v.Add(k, "duration", "must be a positive duration such as 90m, 8h or 3d")
			}
			targets[k] = d
		}
	}
	for _, sev := range Severities {
		if _, ok := targets[sev]; !ok {
			v.Add(sev, "required", "is required")
		}
	}
	if len(v) > 0 {
		return nil, settingsError("invalid SLA targets", v)
	}
	return targets, nil
}

func parseTarget(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > maxTargetDays {
			return 0, false
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}
