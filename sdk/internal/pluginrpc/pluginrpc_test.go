package pluginrpc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

func TestParamsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"nil stays nil", nil, nil},
		{"empty stays empty", map[string]any{}, map[string]any{}},
		{
			name: "integers stay integers",
			in:   map[string]any{"port": 8080, "big": int64(1) << 53, "neg": int32(-5), "u": uint16(7)},
			want: map[string]any{"port": int64(8080), "big": int64(1) << 53, "neg": int64(-5), "u": int64(7)},
		},
		{
			name: "other numbers are float64",
			in:   map[string]any{"ratio": 0.25, "whole": 2.0, "huge": 1e300},
			// 2.0 is written "2" by encoding/json: it comes back an integer.
			want: map[string]any{"ratio": 0.25, "whole": int64(2), "huge": 1e300},
		},
		{
			name: "nested values",
			in:   map[string]any{"l": []any{1, "a", []int{2}}, "m": map[string]any{"n": 3, "b": true, "z": nil}},
			want: map[string]any{"l": []any{int64(1), "a", []any{int64(2)}}, "m": map[string]any{"n": int64(3), "b": true, "z": nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeParams(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeParams(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParamsErrors(t *testing.T) {
	if _, err := EncodeParams(map[string]any{"f": func() {}}); err == nil || !strings.Contains(err.Error(), "encode parameters") {
		t.Errorf("EncodeParams(func) = %v", err)
	}
	if _, err := DecodeParams([]byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "decode parameters") {
		t.Errorf("DecodeParams(array) = %v", err)
	}
}

func TestLogger(t *testing.T) {
	if l := Logger(t.Context(), nil); l.IsError() {
		t.Error("nil slog logger: hclog logger is not discarding")
	}
	tests := []struct {
		name      string
		level     slog.Level
		log       func(hclog.Logger)
		want      string
		wantLevel hclog.Level
	}{
		{"error becomes debug", slog.LevelDebug, func(l hclog.Logger) { l.Error("plugin process exited", "err", "killed") }, `level=DEBUG msg="plugin process exited" logger=host.nginx err=killed`, hclog.Debug},
		{"trace below debug", LevelTrace, func(l hclog.Logger) { l.Trace("waiting") }, `level=DEBUG-4 msg=waiting logger=host.nginx`, hclog.Trace},
		{"quiet at info", slog.LevelInfo, func(l hclog.Logger) { l.Warn("plugin failed to exit gracefully") }, ``, hclog.Off},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sl := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level:       tt.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
			}))
			l := Logger(context.TODO(), sl).Named("host").Named("nginx")
			tt.log(l)
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
			if got := l.GetLevel(); got != tt.wantLevel {
				t.Errorf("GetLevel() = %v, want %v", got, tt.wantLevel)
			}
		})
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestLineWriter(t *testing.T) {
	var buf bytes.Buffer
	sl := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) }}))
	w := LineWriter(t.Context(), sl, "plugin stderr", "plugin", "node")
	for _, s := range []string{"one\ntw", "o\r\n", "\n", "three"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	want := "level=DEBUG msg=\"plugin stderr\" line=one plugin=node\nlevel=DEBUG msg=\"plugin stderr\" line=two plugin=node\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
