package gormstore

import (
	"testing"
	"time"
)

func TestStampScan(t *testing.T) {
	want := time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC)
	tests := []struct {
		name string
		in   any
	}{
		{"time in another zone", want.In(time.FixedZone("UTC-7", -7*3600))},
		{"fixed-width text", "2030-01-02 03:04:05.500000+00:00"},
		{"driver text with a short fraction", "2030-01-02 03:04:05.5+00:00"},
		{"bytes", []byte("2030-01-02 03:04:05.500000+00:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s stamp
			if err := s.Scan(tc.in); err != nil {
				t.Fatalf("Scan(%v) error = %v, want nil", tc.in, err)
			}
			if got := time.Time(s); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("Scan(%v) = %v, want %v in UTC", tc.in, got, want)
			}
		})
	}
	for _, bad := range []any{42, "yesterday", nil} {
		var s stamp
		if err := s.Scan(bad); err == nil {
			t.Errorf("Scan(%#v) = %v, nil; want an error", bad, time.Time(s))
		}
	}
}
