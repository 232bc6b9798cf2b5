package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/state"
)

func (a *app) statusCommand() *cobra.Command {
	var root, statePath string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the installed runtimes, their services and health",
		Long: "status reads the machine's state and shows each runtime with its services (up or\n" +
			"down, pid, uptime, read from runit's status files) and one probe of each health\n" +
			"check, and its ports. It also says when an apply was interrupted and needs\n" +
			"`runtimectl recover`. --json gives the same as JSON, with \"healthy\": true when every\n" +
			"service is up and every check passes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkStatePath(statePath); err != nil {
				return err
			}
			ex := executor.New(executor.Options{Root: root, StatePath: statePath, Logger: a.logger()})
			rep, err := ex.Status(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				if err := a.printJSON(rep); err != nil {
					return err
				}
			} else {
				a.printStatus(rep)
			}
			if rep.Journal != "" {
				return errors.New(rep.Journal)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "the machine's root directory")
	cmd.Flags().StringVar(&statePath, "state", state.DefaultPath, "state file, inside --root")
	return cmd
}

func (a *app) printStatus(rep *executor.Report) {
	var b strings.Builder
	if rep.Serial == 0 && len(rep.Runtimes) == 0 {
		b.WriteString("No runtimes installed.\n")
	} else {
		fmt.Fprintf(&b, "Target %s, state serial %d\n", rep.Target, rep.Serial)
	}
	if rep.Journal != "" {
		b.WriteString("An apply was interrupted, and its journal cannot be read: the runtimes below may not be as listed.\n")
	}
	if p := rep.Interrupted; p != nil {
		fmt.Fprintf(&b, "An apply of plan %s (pid %d, started %s) was interrupted at %s: run `runtimectl recover`.\n",
			short(p.PlanDigest), p.PID, p.Started.Format(time.RFC3339), p.Step)
	}
	for _, rt := range rep.Runtimes {
		fmt.Fprintf(&b, "\n%s %s", rt.Name, rt.Version)
		if rt.Auto {
			b.WriteString(" (auto)")
		}
		b.WriteString("\n")
		writeUnits(&b, rt.Services, rt.Health)
		if len(rt.Ports) > 0 {
			var ports []string
			for _, p := range rt.Ports {
				ports = append(ports, fmt.Sprintf("%d/%s (%s)", p.Number, p.Protocol, p.Name))
			}
			fmt.Fprintf(&b, "  ports: %s\n", strings.Join(ports, ", "))
		}
	}
	for _, ap := range rep.Apps {
		fmt.Fprintf(&b, "\napp %s (%s): release %d live on port %d; releases kept: %s\n", ap.Name, ap.Runtime, ap.Live, ap.Port, joinInts(ap.Releases))
		writeUnits(&b, ap.Services, ap.Health)
	}
	io.WriteString(a.stdout, b.String())
}

// writeUnits writes the lines of a runtime's or app's services and checks.
func writeUnits(b *strings.Builder, svcs []executor.ServiceReport, checks []executor.HealthReport) {
	for _, s := range svcs {
		switch {
		case s.Error != "":
			fmt.Fprintf(b, "  service %s: %s\n", s.Name, s.Error)
		case s.Up:
			fmt.Fprintf(b, "  service %s: up, pid %d, for %s", s.Name, s.PID, time.Duration(s.UptimeSec*float64(time.Second)))
			if s.RSSKiB > 0 {
				fmt.Fprintf(b, ", %.1f MiB resident", float64(s.RSSKiB)/1024)
			}
			b.WriteString("\n")
		case !s.Supervised && s.State != "not-installed":
			fmt.Fprintf(b, "  service %s: down (not supervised: is runsvdir running?)\n", s.Name)
		default:
			fmt.Fprintf(b, "  service %s: %s\n", s.Name, strings.ReplaceAll(s.State, "-", " "))
		}
	}
	for _, h := range checks {
		if h.Healthy {
			fmt.Fprintf(b, "  health %s: ok (%s, %s)\n", h.Name, h.Target, h.Took.Round(time.Millisecond))
		} else {
			fmt.Fprintf(b, "  health %s: FAILING: %s: %s\n", h.Name, h.Target, h.Reason)
		}
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func (a *app) logsCommand() *cobra.Command {
	var root string
	var lines int
	cmd := &cobra.Command{
		Use:   "logs SERVICE|APP",
		Short: "Show the end of a service's log, or of a deployed app's web process",
		Long:  "logs prints the last lines of the service's current log file, as svlogd writes it\n(each line stamped with the time it was logged). Given a deployed app, it shows the\nlog of its live release's web process.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if st, _, err := state.Load(filepath.Join(root, state.DefaultPath)); err == nil {
				if ap, ok := st.App(name); ok && len(ap.Services) > 0 {
					name = ap.Services[0].Name
				}
			}
			if err := checkServiceName(name); err != nil {
				return err
			}
			ex := executor.New(executor.Options{Root: root, Logger: a.logger()})
			dir := ex.LogPath(name)
			f, err := openLog(root, dir)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("service %s has no log (%s): is it installed?", name, filepath.Join(dir, "current"))
			}
			if err != nil {
				return fmt.Errorf("log of service %s: %w", name, err)
			}
			defer f.Close()
			out, err := tailLines(f, lines)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "the machine's root directory")
	cmd.Flags().IntVarP(&lines, "lines", "n", 50, "number of lines to show (0: all)")
	return cmd
}

// tailLines returns the last n lines of the file (all when n <= 0),
// reading only the end of a large one.
func tailLines(f *os.File, n int) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	chunk := int64(64 << 10)
	var buf []byte
	for off := size; ; {
		start := max(off-chunk, 0)
		b := make([]byte, off-start)
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf = append(b, buf...)
		off = start
		if off == 0 || (n > 0 && bytes.Count(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) >= n) {
			break
		}
	}
	if n <= 0 {
		return buf, nil
	}
	trimmed := bytes.TrimSuffix(buf, []byte("\n"))
	for i, count := len(trimmed)-1, 0; i >= 0; i-- {
		if trimmed[i] == '\n' {
			count++
			if count == n {
				return buf[i+1:], nil
			}
		}
	}
	return buf, nil
}
