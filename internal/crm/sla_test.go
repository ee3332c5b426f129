package crm

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	// The DST cases need the tz database whatever the machine has installed.
	_ "time/tzdata"
)

func loadLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// wall reads "2006-01-02 15:04" as a local time in loc; the cases below never
// use a wall time that is skipped or repeated, where the reading would be
// ambiguous.
func wall(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatalf("ParseInLocation(%q): %v", s, err)
	}
	return v
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	return wall(t, time.UTC, s)
}

// everyDay returns a business calendar working every day of the week.
func everyDay(loc *time.Location, open, close time.Duration) Calendar {
	c := BusinessCalendar(loc)
	c.Workdays = [7]bool{true, true, true, true, true, true, true}
	c.Open, c.Close = open, close
	return c
}

func withHolidays(c Calendar, dates ...string) Calendar {
	c.Holidays = map[string]bool{}
	for _, d := range dates {
		c.Holidays[d] = true
	}
	return c
}

type addCase struct {
	name  string
	cal   Calendar
	start time.Time
	d     time.Duration
	want  time.Time
}

func runAddCases(t *testing.T, cases []addCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.Add(tt.start, tt.d)
			if !got.Equal(tt.want) {
				t.Errorf("Add(%v, %v) got %v, want %v", tt.start, tt.d, got.UTC(), tt.want.UTC())
			}
			if got.Location() != time.UTC {
				t.Errorf("Add(%v, %v) got location %v, want UTC", tt.start, tt.d, got.Location())
			}
		})
	}
}

func TestCalendarTime(t *testing.T) {
	shanghai := loadLoc(t, "Asia/Shanghai")
	noDays := BusinessCalendar(time.UTC)
	noDays.Workdays = [7]bool{}
	backwards := BusinessCalendar(time.UTC)
	backwards.Open, backwards.Close = 18*time.Hour, 9*time.Hour
	empty := BusinessCalendar(time.UTC)
	empty.Close = empty.Open
	tooLong := BusinessCalendar(time.UTC)
	tooLong.Close = 30 * time.Hour
	fri := utc(t, "2026-06-05 17:00")
	runAddCases(t, []addCase{
		{"friday evening counts straight through", DefaultCalendar(), fri, 2 * time.Hour, utc(t, "2026-06-05 19:00")},
		{"weekend counts", DefaultCalendar(), fri, 72 * time.Hour, utc(t, "2026-06-08 17:00")},
		{"zero calendar value is calendar time", Calendar{}, fri, 90 * time.Minute, utc(t, "2026-06-05 18:30")},
		{"local start returns the UTC instant", DefaultCalendar(), wall(t, shanghai, "2026-06-05 23:00"), 2 * time.Hour, utc(t, "2026-06-05 17:00")},
		{"business calendar without workdays falls back to calendar time", noDays, fri, 2 * time.Hour, utc(t, "2026-06-05 19:00")},
		{"business calendar closing before it opens falls back to calendar time", backwards, fri, 2 * time.Hour, utc(t, "2026-06-05 19:00")},
		{"business calendar with empty hours falls back to calendar time", empty, fri, 2 * time.Hour, utc(t, "2026-06-05 19:00")},
		{"business calendar with hours past midnight falls back to calendar time", tooLong, fri, 2 * time.Hour, utc(t, "2026-06-05 19:00")},
	})
	for _, tt := range []struct {
		name string
		cal  Calendar
	}{{"calendar time", DefaultCalendar()}, {"no workdays", noDays}, {"open after close", backwards}} {
		t.Run(tt.name+" elapses real time", func(t *testing.T) {
			if got, want := tt.cal.Elapsed(fri, fri.Add(50*time.Hour)), 50*time.Hour; got != want {
				t.Errorf("Elapsed got %v, want %v", got, want)
			}
		})
	}
}

func TestCalendarTimeAcrossDST(t *testing.T) {
	berlin := loadLoc(t, "Europe/Berlin")
	newYork := loadLoc(t, "America/New_York")
	// 24 hours of calendar time are 24 real hours, so the local clock shows
	// 25 hours later on a spring-forward day and 23 on a fall-back day.
	for _, tt := range []struct {
		name      string
		loc       *time.Location
		start     string
		want      time.Time
		wantLocal string
	}{
		{"Berlin spring forward shows 13:00 next day", berlin, "2026-03-28 12:00", utc(t, "2026-03-29 11:00"), "2026-03-29 13:00 CEST"},
		{"Berlin fall back shows 11:00 next day", berlin, "2026-10-24 12:00", utc(t, "2026-10-25 10:00"), "2026-10-25 11:00 CET"},
		{"New York spring forward shows 13:00 next day", newYork, "2026-03-07 12:00", utc(t, "2026-03-08 17:00"), "2026-03-08 13:00 EDT"},
		{"New York fall back shows 11:00 next day", newYork, "2026-10-31 12:00", utc(t, "2026-11-01 16:00"), "2026-11-01 11:00 EST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := wall(t, tt.loc, tt.start)
			got := DefaultCalendar().Add(start, 24*time.Hour)
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if gotLocal := got.In(tt.loc).Format("2006-01-02 15:04 MST"); gotLocal != tt.wantLocal {
				t.Errorf("local got %s, want %s", gotLocal, tt.wantLocal)
			}
			if el := DefaultCalendar().Elapsed(start, got); el != 24*time.Hour {
				t.Errorf("Elapsed got %v, want 24h", el)
			}
		})
	}
}

func TestBusinessAdd(t *testing.T) {
	biz := BusinessCalendar(time.UTC)
	midweekHoliday := withHolidays(biz, "2026-06-03")
	fridayHoliday := withHolidays(biz, "2026-06-05")
	// 2026-06-01 is a Monday.
	runAddCases(t, []addCase{
		{"within one day", biz, utc(t, "2026-06-02 10:00"), 3 * time.Hour, utc(t, "2026-06-02 13:00")},
		{"ending exactly at close stays on the day", biz, utc(t, "2026-06-02 15:00"), 3 * time.Hour, utc(t, "2026-06-02 18:00")},
		{"crossing the end of a day rolls to next morning", biz, utc(t, "2026-06-02 17:00"), 2 * time.Hour, utc(t, "2026-06-03 10:00")},
		{"crossing a weekend lands Monday 10:00", biz, utc(t, "2026-06-05 17:00"), 2 * time.Hour, utc(t, "2026-06-08 10:00")},
		{"starting on Saturday counts from Monday opening", biz, utc(t, "2026-06-06 11:00"), 2 * time.Hour, utc(t, "2026-06-08 11:00")},
		{"starting before opening counts from opening", biz, utc(t, "2026-06-02 07:30"), time.Hour, utc(t, "2026-06-02 10:00")},
		{"starting after closing counts from next opening", biz, utc(t, "2026-06-02 20:00"), time.Hour, utc(t, "2026-06-03 10:00")},
		{"starting just before midnight counts from next opening", biz, utc(t, "2026-06-02 23:30"), 30 * time.Minute, utc(t, "2026-06-03 09:30")},
		{"72 hours span eight working days", biz, utc(t, "2026-06-01 09:00"), 72 * time.Hour, utc(t, "2026-06-10 18:00")},
		{"zero inside working hours is the start", biz, utc(t, "2026-06-02 11:17"), 0, utc(t, "2026-06-02 11:17")},
		{"zero at opening is the opening", biz, utc(t, "2026-06-02 09:00"), 0, utc(t, "2026-06-02 09:00")},
		{"zero at closing is the next opening", biz, utc(t, "2026-06-02 18:00"), 0, utc(t, "2026-06-03 09:00")},
		{"zero on Saturday is Monday opening", biz, utc(t, "2026-06-06 12:00"), 0, utc(t, "2026-06-08 09:00")},
		{"negative duration counts as zero", biz, utc(t, "2026-06-06 12:00"), -time.Hour, utc(t, "2026-06-08 09:00")},
		{"weekday holiday is skipped", midweekHoliday, utc(t, "2026-06-02 17:00"), 2 * time.Hour, utc(t, "2026-06-04 10:00")},
		{"starting on a holiday counts from the next working day", midweekHoliday, utc(t, "2026-06-03 10:00"), time.Hour, utc(t, "2026-06-04 10:00")},
		{"holiday followed by weekend lands Monday", fridayHoliday, utc(t, "2026-06-04 17:00"), 2 * time.Hour, utc(t, "2026-06-08 10:00")},
	})
}

func TestBusinessLocalZone(t *testing.T) {
	shanghai := loadLoc(t, "Asia/Shanghai")
	biz := BusinessCalendar(shanghai)
	// Shanghai is UTC+8, so its working day straddles UTC midnight.
	runAddCases(t, []addCase{
		{"crossing local midnight lands next local morning", biz, wall(t, shanghai, "2026-06-02 17:00"), 3 * time.Hour, utc(t, "2026-06-03 03:00")},
		{"Friday evening local lands Monday morning local", biz, utc(t, "2026-06-05 09:00"), 2 * time.Hour, utc(t, "2026-06-08 02:00")},
		{"Monday morning local is still Sunday in UTC", biz, utc(t, "2026-06-07 20:00"), 0, utc(t, "2026-06-08 01:00")},
		{"local holiday is skipped", withHolidays(biz, "2026-06-03"), wall(t, shanghai, "2026-06-02 17:00"), 2 * time.Hour, wall(t, shanghai, "2026-06-04 10:00")},
	})
}

func TestBusinessUnusualHours(t *testing.T) {
	shanghai := loadLoc(t, "Asia/Shanghai")
	evening := everyDay(time.UTC, 20*time.Hour, 24*time.Hour)
	aroundTheClock := everyDay(shanghai, 0, 24*time.Hour)
	longDays := BusinessCalendar(shanghai)
	longDays.Workdays = [7]bool{time.Sunday: true, time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true}
	longDays.Open, longDays.Close = 6*time.Hour+30*time.Minute, 22*time.Hour+15*time.Minute
	start := wall(t, shanghai, "2026-06-04 22:00")
	runAddCases(t, []addCase{
		{"evening shift ending at midnight resumes next evening", evening, utc(t, "2026-06-02 23:00"), 2 * time.Hour, utc(t, "2026-06-03 21:00")},
		{"evening shift before opening waits for 20:00", evening, utc(t, "2026-06-02 12:00"), 30 * time.Minute, utc(t, "2026-06-02 20:30")},
		{"around the clock equals calendar time", aroundTheClock, start, 50 * time.Hour, start.Add(50 * time.Hour)},
		{"Sunday to Thursday 06:30-22:15 skips Friday and Saturday", longDays, start, time.Hour, wall(t, shanghai, "2026-06-07 07:15")},
	})
}

func TestBusinessAcrossDST(t *testing.T) {
	berlin := loadLoc(t, "Europe/Berlin")
	newYork := loadLoc(t, "America/New_York")
	// 2026-03-29 and 2026-10-25 (Berlin), 2026-03-08 and 2026-11-01 (New
	// York) are Sundays on which the clocks change at night.
	nightShift := everyDay(berlin, time.Hour, 5*time.Hour)
	gapShift := everyDay(berlin, 2*time.Hour+30*time.Minute, 4*time.Hour)
	runAddCases(t, []addCase{
		{"Berlin weekend into summer time lands Monday 10:00 CEST", BusinessCalendar(berlin), wall(t, berlin, "2026-03-27 17:00"), 2 * time.Hour, utc(t, "2026-03-30 08:00")},
		{"Berlin weekend into winter time lands Monday 10:00 CET", BusinessCalendar(berlin), wall(t, berlin, "2026-10-23 17:00"), 2 * time.Hour, utc(t, "2026-10-26 09:00")},
		{"New York weekend into summer time lands Monday 10:00 EDT", BusinessCalendar(newYork), wall(t, newYork, "2026-03-06 17:00"), 2 * time.Hour, utc(t, "2026-03-09 14:00")},
		{"New York weekend into winter time lands Monday 10:00 EST", BusinessCalendar(newYork), wall(t, newYork, "2026-10-30 17:00"), 2 * time.Hour, utc(t, "2026-11-02 15:00")},
		{"Berlin spring-forward day still has 9 working hours", everyDay(berlin, 9*time.Hour, 18*time.Hour), wall(t, berlin, "2026-03-29 09:00"), 9 * time.Hour, wall(t, berlin, "2026-03-29 18:00")},
		{"Berlin fall-back day still has 9 working hours", everyDay(berlin, 9*time.Hour, 18*time.Hour), wall(t, berlin, "2026-10-25 09:00"), 9 * time.Hour, wall(t, berlin, "2026-10-25 18:00")},
		{"Berlin Saturday evening rolls to Sunday 10:00 CEST", everyDay(berlin, 9*time.Hour, 18*time.Hour), wall(t, berlin, "2026-03-28 17:00"), 2 * time.Hour, utc(t, "2026-03-29 08:00")},
		{"New York spring-forward day still has 9 working hours", everyDay(newYork, 9*time.Hour, 18*time.Hour), wall(t, newYork, "2026-03-08 09:00"), 9 * time.Hour, utc(t, "2026-03-08 22:00")},
		{"New York fall-back day still has 9 working hours", everyDay(newYork, 9*time.Hour, 18*time.Hour), wall(t, newYork, "2026-11-01 09:00"), 9 * time.Hour, utc(t, "2026-11-01 23:00")},
		// A change inside working hours counts the real time the office was open.
		{"Berlin 01:00-05:00 on spring-forward day holds 3 real hours", nightShift, wall(t, berlin, "2026-03-29 01:00"), 3 * time.Hour, utc(t, "2026-03-29 03:00")},
		{"Berlin 01:00-05:00 spring-forward overflow rolls to next night", nightShift, wall(t, berlin, "2026-03-29 01:00"), 4 * time.Hour, utc(t, "2026-03-30 00:00")},
		{"Berlin 01:00-05:00 on fall-back day holds 5 real hours", nightShift, wall(t, berlin, "2026-10-25 01:00"), 5 * time.Hour, utc(t, "2026-10-25 04:00")},
		{"New York around the clock across spring forward equals calendar time", everyDay(newYork, 0, 24*time.Hour), wall(t, newYork, "2026-03-07 12:00"), 24 * time.Hour, utc(t, "2026-03-08 17:00")},
		{"New York around the clock across fall back equals calendar time", everyDay(newYork, 0, 24*time.Hour), wall(t, newYork, "2026-10-31 12:00"), 24 * time.Hour, utc(t, "2026-11-01 16:00")},
		// 02:30 does not exist on 2026-03-29: the office opens when the clocks jump to 03:00 CEST.
		{"opening time skipped by spring forward opens at the jump", gapShift, utc(t, "2026-03-29 00:00"), 0, utc(t, "2026-03-29 01:00")},
		{"opening time skipped by spring forward leaves one hour", gapShift, utc(t, "2026-03-29 00:00"), time.Hour, utc(t, "2026-03-29 02:00")},
		// 02:30 happens twice on 2026-10-25: the office opens at the first, 02:30 CEST.
		{"opening time repeated by fall back opens at first occurrence", gapShift, utc(t, "2026-10-25 00:00"), 0, utc(t, "2026-10-25 00:30")},
		{"opening time repeated by fall back leaves two and a half hours", gapShift, utc(t, "2026-10-25 00:00"), 150 * time.Minute, utc(t, "2026-10-25 03:00")},
	})
}

func TestCalendarElapsed(t *testing.T) {
	berlin := loadLoc(t, "Europe/Berlin")
	biz := BusinessCalendar(time.UTC)
	nightShift := everyDay(berlin, time.Hour, 5*time.Hour)
	for _, tt := range []struct {
		name     string
		cal      Calendar
		from, to time.Time
		want     time.Duration
	}{
		{"weekend does not count", biz, utc(t, "2026-06-05 17:00"), utc(t, "2026-06-08 10:00"), 2 * time.Hour},
		{"a working week is 45 hours", biz, utc(t, "2026-06-01 00:00"), utc(t, "2026-06-08 00:00"), 45 * time.Hour},
		{"a weekend alone is zero", biz, utc(t, "2026-06-06 00:00"), utc(t, "2026-06-07 23:59"), 0},
		{"to before from is zero", biz, utc(t, "2026-06-02 12:00"), utc(t, "2026-06-02 10:00"), 0},
		{"to equal to from is zero", biz, utc(t, "2026-06-02 12:00"), utc(t, "2026-06-02 12:00"), 0},
		{"holiday does not count", withHolidays(biz, "2026-06-03"), utc(t, "2026-06-02 17:00"), utc(t, "2026-06-04 10:00"), 2 * time.Hour},
		{"calendar time across spring forward is real time", DefaultCalendar(), wall(t, berlin, "2026-03-28 12:00"), wall(t, berlin, "2026-03-29 12:00"), 23 * time.Hour},
		{"calendar time across fall back is real time", DefaultCalendar(), wall(t, berlin, "2026-10-24 12:00"), wall(t, berlin, "2026-10-25 12:00"), 25 * time.Hour},
		{"night shift on spring-forward day is 3 hours", nightShift, utc(t, "2026-03-28 12:00"), utc(t, "2026-03-29 12:00"), 3 * time.Hour},
		{"night shift on fall-back day is 5 hours", nightShift, utc(t, "2026-10-24 12:00"), utc(t, "2026-10-25 12:00"), 5 * time.Hour},
		{"Berlin office hours on spring-forward Sunday are 9 hours", everyDay(berlin, 9*time.Hour, 18*time.Hour), wall(t, berlin, "2026-03-29 00:00"), wall(t, berlin, "2026-03-30 00:00"), 9 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.Elapsed(tt.from, tt.to); got != tt.want {
				t.Errorf("Elapsed(%v, %v) got %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// inside says whether t is counting time, reckoned independently of Add from
// the local wall clock; valid for calendars whose Open and Close are neither
// skipped nor repeated by a DST change.
func inside(c Calendar, t time.Time) bool {
	if !c.Business {
		return true
	}
	local := t.In(c.location())
	h, m, s := local.Clock()
	clock := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	return c.Workdays[local.Weekday()] && !c.Holidays[local.Format(dateLayout)] && clock >= c.Open && clock < c.Close
}

func TestCalendarElapsedInverse(t *testing.T) {
	berlin := loadLoc(t, "Europe/Berlin")
	newYork := loadLoc(t, "America/New_York")
	shanghai := loadLoc(t, "Asia/Shanghai")
	sunThu := BusinessCalendar(shanghai)
	sunThu.Workdays = [7]bool{time.Sunday: true, time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true}
	sunThu.Open, sunThu.Close = 6*time.Hour+30*time.Minute, 22*time.Hour+15*time.Minute
	calendars := []struct {
		name string
		cal  Calendar
	}{
		{"calendar", DefaultCalendar()},
		{"UTC office with holidays", withHolidays(BusinessCalendar(time.UTC), "2026-03-10", "2026-10-30")},
		{"Berlin office with holidays", withHolidays(BusinessCalendar(berlin), "2026-03-27", "2026-10-26")},
		{"New York night shift", everyDay(newYork, time.Hour, 5*time.Hour)},
		{"Berlin around the clock", everyDay(berlin, 0, 24*time.Hour)},
		{"Shanghai Sunday to Thursday", sunThu},
	}
	// Two grids around the spring and autumn changes, at a step that is not a
	// multiple of an hour so that it hits every minute-of-hour pattern.
	var grids [][]time.Time
	for _, base := range []time.Time{utc(t, "2026-03-04 00:00"), utc(t, "2026-10-22 00:00")} {
		var grid []time.Time
		for i := range 200 {
			grid = append(grid, base.Add(time.Duration(i)*73*time.Minute))
		}
		grids = append(grids, grid)
	}
	for _, cc := range calendars {
		t.Run(cc.name+" Add inverts Elapsed", func(t *testing.T) {
			for _, grid := range grids {
				for i := 0; i < len(grid); i += 7 {
					from := grid[i]
					for _, to := range grid[i:] {
						el := cc.cal.Elapsed(from, to)
						got := cc.cal.Add(from, el)
						if inside(cc.cal, to) && !got.Equal(to) {
							t.Fatalf("Add(%v, Elapsed=%v) got %v, want %v", from, el, got, to)
						}
						// Outside counting time Add lands elsewhere, but on an
						// instant with the same counting time behind it.
						if back := cc.cal.Elapsed(from, got); back != el {
							t.Fatalf("Elapsed(%v, Add(%v, %v)) got %v, want %v", from, from, el, back, el)
						}
						if zero := cc.cal.Add(to, 0); zero.Equal(to) != inside(cc.cal, to) {
							t.Fatalf("Add(%v, 0) got %v, want start iff inside counting time", to, zero)
						}
					}
				}
			}
		})
		t.Run(cc.name+" Elapsed is additive", func(t *testing.T) {
			for _, grid := range grids {
				for i := 0; i+40 < len(grid); i += 11 {
					a, b, c := grid[i], grid[i+17], grid[i+40]
					if got, want := cc.cal.Elapsed(a, b)+cc.cal.Elapsed(b, c), cc.cal.Elapsed(a, c); got != want {
						t.Fatalf("Elapsed(%v,%v)+Elapsed(%v,%v) got %v, want %v", a, b, b, c, got, want)
					}
				}
			}
		})
	}
}

func TestCalendarScanIsBounded(t *testing.T) {
	// Every working day for well over ten years is a holiday.
	c := BusinessCalendar(time.UTC)
	c.Holidays = map[string]bool{}
	start := utc(t, "2026-06-01 00:00")
	for d := start; d.Before(start.AddDate(12, 0, 0)); d = d.AddDate(0, 0, 1) {
		c.Holidays[d.Format(dateLayout)] = true
	}
	end := utc(t, "2026-05-31 00:00").AddDate(0, 0, maxScanDays)
	t.Run("Add counts calendar time after the scanned span", func(t *testing.T) {
		if got, want := c.Add(start, time.Hour), end.Add(time.Hour); !got.Equal(want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("Elapsed counts calendar time after the scanned span", func(t *testing.T) {
		if got, want := c.Elapsed(start, end.Add(time.Hour)), time.Hour; got != want {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestParseCalendar(t *testing.T) {
	for _, tt := range []struct {
		name                         string
		clock, tz, days, hours, hols string
		want                         Calendar
	}{
		{"business with every setting", "business", "Europe/Berlin", "Mon-Fri", "09:00-18:00", "2026-12-25, 2027-01-01",
			Calendar{Business: true, Location: loadLoc(t, "Europe/Berlin"), Workdays: [7]bool{false, true, true, true, true, true, false},
				Open: 9 * time.Hour, Close: 18 * time.Hour, Holidays: map[string]bool{"2026-12-25": true, "2027-01-01": true}}},
		{"empty settings default to Mon-Fri 09:00-18:00 UTC", "Business", "", "", "", "", BusinessCalendar(time.UTC)},
		{"calendar clock is not business", " CALENDAR ", "", "", "", "",
			Calendar{Location: time.UTC, Workdays: BusinessCalendar(nil).Workdays, Open: 9 * time.Hour, Close: 18 * time.Hour}},
		{"lists and mixed case", "business", "Asia/Shanghai", "mon,TUE, thu", "08:30-17:45", "",
			Calendar{Business: true, Location: loadLoc(t, "Asia/Shanghai"), Workdays: [7]bool{false, true, true, false, true, false, false},
				Open: 8*time.Hour + 30*time.Minute, Close: 17*time.Hour + 45*time.Minute}},
		{"range wraps past Sunday", "business", "", "Fri-Mon, Wed", "00:00-24:00", "",
			Calendar{Business: true, Location: time.UTC, Workdays: [7]bool{true, true, false, true, false, true, true}, Close: 24 * time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCalendar(tt.clock, tt.tz, tt.days, tt.hours, tt.hols)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.Business != tt.want.Business || got.location().String() != tt.want.location().String() ||
				got.Workdays != tt.want.Workdays || got.Open != tt.want.Open || got.Close != tt.want.Close ||
				!maps.Equal(got.Holidays, tt.want.Holidays) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// fieldNames returns the fields an *Error names, sorted, or nil.
func fieldNames(err error) []string {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	slices.Sort(names)
	return names
}

func TestParseCalendarErrors(t *testing.T) {
	for _, tt := range []struct {
		name                         string
		clock, tz, days, hours, hols string
		want                         []string
	}{
		{"every bad setting is named", "hourly", "Mars/Olympus", "Mon-Fry", "18:00-09:00", "2026-02-30", []string{"clock", "days", "holidays", "hours", "tz"}},
		{"empty clock is rejected", "", "", "", "", "", []string{"clock"}},
		{"machine local zone is rejected", "business", "Local", "", "", "", []string{"tz"}},
		{"list without days is rejected", "business", "", ",", "", "", []string{"days"}},
		{"full day name is rejected", "business", "", "Monday-Friday", "", "", []string{"days"}},
		{"hours without minutes are rejected", "business", "", "", "9-18", "", []string{"hours"}},
		{"opening equal to close is rejected", "business", "", "", "09:00-09:00", "", []string{"hours"}},
		{"close past midnight is rejected", "business", "", "", "09:00-24:30", "", []string{"hours"}},
		{"single time is rejected", "business", "", "", "09:00", "", []string{"hours"}},
		{"US date is rejected", "business", "", "", "", "12/25/2026", []string{"holidays"}},
		{"bad settings are rejected on calendar time too", "calendar", "Nowhere/Land", "", "", "", []string{"tz"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCalendar(tt.clock, tt.tz, tt.days, tt.hours, tt.hols)
			if got := ErrorCode(err); got != EINVALID {
				t.Fatalf("code got %q (%v), want %q", got, err, EINVALID)
			}
			if got := fieldNames(err); !slices.Equal(got, tt.want) {
				t.Errorf("fields got %v, want %v", got, tt.want)
			}
			for _, f := range tt.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("message %q does not name %s", err.Error(), f)
				}
			}
		})
	}
}

func TestParseSLATargets(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want map[string]time.Duration
	}{
		{"defaults parse", "critical=2h,high=8h,medium=24h,low=72h",
			map[string]time.Duration{SeverityCritical: 2 * time.Hour, SeverityHigh: 8 * time.Hour, SeverityMedium: 24 * time.Hour, SeverityLow: 72 * time.Hour}},
		{"days, spaces and case are accepted", " Critical = 90m , HIGH=1d,medium=3d, low=1h30m",
			map[string]time.Duration{SeverityCritical: 90 * time.Minute, SeverityHigh: 24 * time.Hour, SeverityMedium: 72 * time.Hour, SeverityLow: 90 * time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSLATargets(tt.in)
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("got %v (%v), want %v", got, err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		in   string
		want []string
	}{
		{"missing severity is named", "critical=2h,high=8h,medium=24h", []string{"low"}},
		{"empty string names every severity", "", []string{"critical", "high", "low", "medium"}},
		{"unknown severity is named", "critical=2h,high=8h,medium=24h,low=72h,urgent=1h", []string{"urgent"}},
		{"repeated severity is named", "critical=2h,critical=3h,high=8h,medium=24h,low=72h", []string{"critical"}},
		{"bad durations are named", "critical=-2h,high=0s,medium=1.5d,low=soon", []string{"critical", "high", "low", "medium"}},
		{"item without equals is named targets", "critical=2h,high=8h,medium=24h,low=72h,oops", []string{"targets"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSLATargets(tt.in)
			if got != nil || ErrorCode(err) != EINVALID {
				t.Fatalf("got %v (%v), want an %s error", got, err, EINVALID)
			}
			if names := fieldNames(err); !slices.Equal(names, tt.want) {
				t.Errorf("fields got %v, want %v", names, tt.want)
			}
		})
	}
}

func TestSeverityRank(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{SeverityLow, 0}, {SeverityMedium, 1}, {SeverityHigh, 2}, {SeverityCritical, 3},
		{"urgent", -1}, {"", -1}, {"Critical", -1},
	} {
		name := strconv.Quote(tt.in) + " ranks " + strconv.Itoa(tt.want)
		if tt.want < 0 {
			name = strconv.Quote(tt.in) + " is unknown"
		}
		t.Run(name, func(t *testing.T) {
			if got := SeverityRank(tt.in); got != tt.want {
				t.Errorf("SeverityRank(%q) got %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestSLADue(t *testing.T) {
	shanghai := loadLoc(t, "Asia/Shanghai")
	start := utc(t, "2026-06-05 17:00") // a Friday
	business := DefaultSLAPolicy()
	business.Calendar = BusinessCalendar(time.UTC)
	for _, tt := range []struct {
		name             string
		policy           SLAPolicy
		severity         string
		start            time.Time
		wantAck, wantRes time.Time
	}{
		{"critical is acknowledged in 15m and resolved in 2h", DefaultSLAPolicy(), SeverityCritical, start, utc(t, "2026-06-05 17:15"), utc(t, "2026-06-05 19:00")},
		{"high is acknowledged in 1h and resolved in 8h", DefaultSLAPolicy(), SeverityHigh, start, utc(t, "2026-06-05 18:00"), utc(t, "2026-06-06 01:00")},
		{"medium is acknowledged in 4h and resolved in 24h", DefaultSLAPolicy(), SeverityMedium, start, utc(t, "2026-06-05 21:00"), utc(t, "2026-06-06 17:00")},
		{"low is acknowledged in 8h and resolved in 72h", DefaultSLAPolicy(), SeverityLow, start, utc(t, "2026-06-06 01:00"), utc(t, "2026-06-08 17:00")},
		{"local start gives UTC deadlines", DefaultSLAPolicy(), SeverityCritical, start.In(shanghai), utc(t, "2026-06-05 17:15"), utc(t, "2026-06-05 19:00")},
		{"unknown severity has no deadlines", DefaultSLAPolicy(), "urgent", start, time.Time{}, time.Time{}},
		{"business hours push critical resolution to Monday", business, SeverityCritical, start, utc(t, "2026-06-05 17:15"), utc(t, "2026-06-08 10:00")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gotAck, gotRes := tt.policy.Due(tt.severity, tt.start)
			if !gotAck.Equal(tt.wantAck) || !gotRes.Equal(tt.wantRes) {
				t.Errorf("got %v, %v, want %v, %v", gotAck, gotRes, tt.wantAck, tt.wantRes)
			}
			if !gotAck.IsZero() && gotAck.Location() != time.UTC {
				t.Errorf("ack due in %v, want UTC", gotAck.Location())
			}
		})
	}
}

func TestWarnAndSegmentReview(t *testing.T) {
	p := DefaultSLAPolicy()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	if got := p.Warn(SeverityMedium, start); !got.Equal(start.Add(18 * time.Hour)) {
		t.Errorf("medium warning at %s", got)
	}
	p.WarnAt = 0.5
	if got := p.Warn(SeverityCritical, start); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("critical warning at half: %s", got)
	}
	// On a business calendar the warning counts working hours only: 75 %
	// of 8 working hours from Friday 14:00 is Monday 11:00.
	b := SLAPolicy{Resolve: map[string]time.Duration{SeverityHigh: 8 * time.Hour}, Calendar: BusinessCalendar(time.UTC)}
	if got := b.Warn(SeverityHigh, time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("business warning at %s", got)
	}
	if !b.Warn("unknown", start).IsZero() {
		t.Error("a severity without a target has no warning")
	}
	pol := Policy{ReviewPeriod: 180 * 24 * time.Hour, SegmentReviewPeriods: map[string]time.Duration{"vip": 30 * 24 * time.Hour}}
	c := Customer{UpdatedAt: start, Segment: "vip"}
	if got := pol.ReviewDue(c); !got.Equal(start.Add(30 * 24 * time.Hour)) {
		t.Errorf("vip review due %s", got)
	}
	c.Segment = "smb"
	if got := pol.ReviewDue(c); !got.Equal(start.Add(180 * 24 * time.Hour)) {
		t.Errorf("smb review due %s", got)
	}
	if ReminderID(ReminderSLABreach, "k_1", start) != ReminderID(ReminderSLABreach, "k_1", start.In(time.FixedZone("x", 3600))) ||
		ReminderID(ReminderSLABreach, "k_1", start) == ReminderID(ReminderSLAWarning, "k_1", start) {
		t.Error("reminder ids must depend on kind, subject and instant only")
	}
}
