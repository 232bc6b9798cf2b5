package executor

import (
	"fmt"
	"testing"
)

// BenchmarkJournal journals a whole apply of n steps (each step: doing,
// then done), as forward does. The cost per step must not grow with n:
//
//	go test -run '^$' -bench Journal ./sdk/executor/
func BenchmarkJournal(b *testing.B) {
	for _, n := range []int{300, 3000} {
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			f, err := openFSRoot(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer f.close()
			if _, err := f.mkdirs(dataDir); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				j := &journal{FormatVersion: journalFormat, PlanDigest: "abc", Mode: modeApply}
				for i := range n {
					j.Steps = append(j.Steps, stepRecord{ID: fmt.Sprintf("write-file:/srv/f%d", i), Kind: "write-file", Phase: phasePending})
				}
				w, err := f.createJournal(j)
				if err != nil {
					b.Fatal(err)
				}
				for i := range j.Steps {
					for _, ph := range []string{phaseDoing, phaseDone} {
						rec := j.Steps[i]
						rec.Phase = ph
						rec.Undo = &fileUndo{Path: "srv/f", Saved: &savedFile{}}
						if err := w.add(journalChange{Step: i + 1, Rec: &rec}); err != nil {
							b.Fatal(err)
						}
					}
				}
				w.close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e3, "µs/step")
		})
	}
}
