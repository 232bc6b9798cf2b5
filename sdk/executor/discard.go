package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OutcomeDiscarded is the outcome of DiscardJournal.
const OutcomeDiscarded Outcome = "journal-discarded"

// DiscardJournal is the way forward from a journal that cannot be read
// (a *DamagedJournalError): Recover and Apply refuse to guess what such a
// journal recorded, so they refuse until it is dealt with. DiscardJournal
// moves it aside (beside itself, named journal.damaged-TIME, for
// inspection; the backups the apply took stay under
// /var/lib/runtimekit/backup), takes away runtimekit's policy-rc.d if it is
// still in place, lets dpkg finish what it was doing (`dpkg --configure
// -a`), and reports in Result.Warnings every way the machine differs from
// its state file: packages the state lists that are not installed, and
// what dpkg --audit says. It does not roll anything back: nothing tells
// what the apply had done. A readable journal is refused: use Recover.
func (e *Executor) DiscardJournal(ctx context.Context) (*Result, error) {
	start := time.Now()
	f, err := openFSRoot(e.opts.Root)
	if err != nil {
		return nil, err
	}
	defer f.close()
	unlock, err := e.lock(ctx, f, "discard journal")
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := e.newRun(f, nil, "", start)
	defer r.close()
	j, err := f.loadJournal()
	var de *DamagedJournalError
	switch {
	case err == nil && j == nil:
		return nil, errors.New("there is no journal to discard: nothing was interrupted")
	case err == nil:
		return nil, fmt.Errorf("the journal %s is readable: run `runtimectl recover` to roll back (or --resume) the apply it records", f.host(journalPath))
	case !errors.As(err, &de):
		return nil, err
	}
	what, suffix := "the damaged journal", "damaged"
	if de.Older > 0 {
		what, suffix = "the older runtimectl's journal", fmt.Sprintf("format%d", de.Older)
	}
	aside := fmt.Sprintf("%s.%s-%s", journalPath, suffix, time.Now().UTC().Format("20060102T150405Z"))
	if err := r.rename(journalPath, aside); err != nil {
		return nil, fmt.Errorf("set %s aside: %w", what, err)
	}
	r.res.Warnings = append(r.res.Warnings, what+" is kept as "+f.host(aside))
	if b, err := f.r.ReadFile(policyRCPath); err == nil && string(b) == policyRCScript {
		if err := f.remove(policyRCPath); err != nil {
			return nil, fmt.Errorf("remove runtimekit's policy-rc.d: %w", err)
		}
		r.res.Warnings = append(r.res.Warnings, "removed runtimekit's "+abs(policyRCPath)+", left in place by the interrupted apply")
	}
	if err := f.release(); err != nil {
		return nil, err
	}
	db, err := f.readDpkgStatus()
	if err != nil {
		return nil, err
	}
	if bad, err := f.dpkgInterrupted(db); err != nil {
		return nil, err
	} else if bad {
		l, err := f.lockFrontend(ctx, e.opts.Wait)
		if err != nil {
			return nil, err
		}
		r.front = l
		r.progress("dpkg was interrupted: dpkg --configure -a")
		if _, err := r.dpkg.run(ctx, "--configure", "-a", "--force-confdef", "--force-confold"); err != nil {
			r.res.Warnings = append(r.res.Warnings, "dpkg --configure -a failed: "+firstLine(err.Error()))
		}
		if err := r.dpkg.audit(ctx); err != nil {
			r.res.Warnings = append(r.res.Warnings, err.Error())
		}
		if db, err = f.readDpkgStatus(); err != nil {
			return nil, err
		}
	}
	if st, _, err := loadState(f, r.stateRel); err != nil {
		r.res.Warnings = append(r.res.Warnings, "state: "+err.Error())
	} else {
		r.res.Serial = st.Serial
		var missing []string
		for _, rt := range st.Runtimes {
			for _, p := range rt.Packages {
				if cur := db.get(p.Name, p.Arch); cur.Status != "installed" || cur.Version != p.Version {
					missing = append(missing, fmt.Sprintf("%s %s (%s, of %s: %s)", p.Name, p.Version, p.Arch, rt.Name, cur.Status))
				}
			}
		}
		if len(missing) > 0 {
			r.res.Warnings = append(r.res.Warnings, "packages the state lists but that are not installed as it says: "+strings.Join(missing, ", "))
		}
	}
	r.res.Outcome = OutcomeDiscarded
	r.res.Duration = time.Since(start)
	return r.res, nil
}
