package lifecycle

import (
	"encoding/json"
	"fmt"
	"testing"
)

// slowEvent is parseEvent without its fast path: encoding/json only.
func slowEvent(b []byte) (event, error) {
	var l eventLine
	if err := json.Unmarshal(b, &l); err != nil {
		return event{}, err
	}
	e := event{name: l.Event, time: l.Time, recordOK: true}
	var s string
	switch {
	case len(l.Record) == 0 || string(l.Record) == "null":
	case json.Unmarshal(l.Record, &s) == nil:
		e.record, e.recordOK = recordID(s, true)
	default:
		e.record, e.recordOK = recordID(string(l.Record), false)
	}
	if !e.recordOK {
		e.record = string(l.Record)
	}
	return e, nil
}

func TestEventFastPathAgreesWithEncodingJSON(t *testing.T) {
	lines := []string{
		`{"record": "1001", "event": "demo_booked", "time": "2026-11-20T10:00:00Z"}`,
		`{"record":1001,"event":"demo_booked","time":"2026-11-20T10:00:00Z"}`,
		`  {"time": "2026-11-20T10:00:00Z", "event": "x", "record": " 42 "}  `,
		`{"record": "1001", "event": "a", "event": "b", "time": "t"}`,
		`{"record": "1001", "event": "démo", "time": "t", "count": 3}`,
		`{"record": "1001", "event": "a", "time": "t", "properties": {"form": "x"}}`,
		`{"record": "10\"01", "event": "a", "time": "t"}`,
		`{"record": "a/b", "event": "a", "time": "t"}`,
		`{"record": -5, "event": "a", "time": "t"}`,
		`{"record": 1.5, "event": "a", "time": "t"}`,
		`{"record": 015, "event": "a", "time": "t"}`,
		`{"record": null, "event": "a", "time": "t"}`,
		`{"record": true, "event": "a", "time": "t"}`,
		`{"Record": "7", "EVENT": "a", "time": "t"}`,
		`{"record": "7", "event": 5, "time": "t"}`,
		`{"record": "7", "event": "a", "time": "t"} trailing`,
		`{"record": "7", "event": "a", "time": "t",}`,
		`{"record": "7" "event": "a"}`,
		`{}`,
		`[]`,
		`{"record": "7", "event": "a\tb", "time": "t"}`,
		"{\"record\": \"7\", \"event\": \"\xff\", \"time\": \"t\"}",
		`not json`,
		``,
	}
	for _, l := range lines {
		t.Run(fmt.Sprintf("%q reads the same both ways", l), func(t *testing.T) {
			fast, ok := scanEvent([]byte(l))
			slow, err := slowEvent([]byte(l))
			if !ok {
				return // encoding/json decides
			}
			if err != nil {
				t.Fatalf("fast path accepted a line encoding/json rejects (%v): %+v", err, fast)
			}
			if fast != slow {
				t.Errorf("fast %+v, encoding/json %+v", fast, slow)
			}
		})
	}
	t.Run("the common line takes the fast path", func(t *testing.T) {
		if _, ok := scanEvent([]byte(lines[0])); !ok {
			t.Error("fast path refused a plain event line")
		}
	})
}
