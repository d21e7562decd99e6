package checkpoint

// The behaviours of Winlogbeat's checkpoint tests (max updates, directories
// made, an existing file, the final commit at shutdown), written for this
// package, and what the swap promises besides: a .winlogbeat.yml written by
// Winlogbeat reads here exactly, and the file written here reads in
// Winlogbeat's own reader (tests/fixtures/yaml/winlogbeat.go, when the
// Debian package golang-gopkg-yaml.v2-dev is installed).

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const fixtures = "../../tests/fixtures/yaml"

// The only wait: for the worker's commit, which only a broken library
// takes this long to make.
const patience = 30 * time.Second

func open(t *testing.T, file string, maxUpdates int, interval time.Duration) *Checkpoint {
	t.Helper()
	cp, err := NewCheckpoint(file, maxUpdates, interval)
	if err != nil {
		t.Fatalf("NewCheckpoint(%q): %v", file, err)
	}
	return cp
}

func read(t *testing.T, cp *Checkpoint) *PersistedState {
	t.Helper()
	ps, err := cp.read()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return ps
}

func sameState(t *testing.T, got, want EventLogState) {
	t.Helper()
	if got.Name != want.Name || got.RecordNumber != want.RecordNumber ||
		!got.Timestamp.Equal(want.Timestamp) || got.Bookmark != want.Bookmark {
		t.Errorf("state %+v, want %+v", got, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// Below maxUpdates a position is in memory only; the update that reaches
// it is written.
func TestWriteMaxUpdates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "some", "new", "dir", ".winlogbeat.yml")
	cp := open(t, file, 2, time.Hour)
	defer cp.Shutdown()

	cp.Persist("App", 1, time.Now())
	if _, found := cp.States()["App"]; !found {
		t.Fatal("a persisted state is not in States()")
	}
	if ps := read(t, cp); len(ps.States) != 0 {
		t.Fatalf("one update below maxUpdates was written: %+v", ps.States)
	}

	cp.Persist("App", 2, time.Now())
	deadline := time.Now().Add(patience)
	ps := read(t, cp)
	for (len(ps.States) == 0 || ps.States[0].RecordNumber != 2) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		ps = read(t, cp)
	}
	if len(ps.States) != 1 || ps.States[0].Name != "App" || ps.States[0].RecordNumber != 2 {
		t.Fatalf("after maxUpdates updates the file holds %+v", ps.States)
	}
}

// The store's directory and its parents are made.
func TestCreateDir(t *testing.T) {
	stateDir := filepath.Join(t.TempDir(), "state", "dir", "does", "not", "exist")
	file := filepath.Join(stateDir, ".winlogbeat.yml")
	cp := open(t, file, 10, time.Hour)
	defer cp.Shutdown()
	info, err := os.Stat(stateDir)
	if err != nil || !info.IsDir() {
		t.Fatalf("%s is not a directory: %v", stateDir, err)
	}
}

// An existing file (even an empty one) is opened, not replaced.
func TestExistingFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cp := open(t, empty, 10, time.Hour)
	if n := len(cp.States()); n != 0 {
		t.Errorf("an empty file has %d states", n)
	}
	cp.Shutdown()

	file := filepath.Join(dir, ".winlogbeat.yml")
	copyFile(t, filepath.Join(fixtures, "winlogbeat_typical.yml"), file)
	cp = open(t, file, 10, time.Hour)
	defer cp.Shutdown()
	if n := len(cp.States()); n != 4 {
		t.Errorf("Winlogbeat's file has %d states, want 4", n)
	}
}

// Shutdown commits what is pending; States() still answers afterwards, and
// Persist is ignored.
func TestShutdownCommits(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".winlogbeat.yml")
	cp := open(t, file, 100, time.Hour)
	ts := time.Date(2017, 12, 5, 15, 16, 2, 672130300, time.UTC)
	cp.PersistState(EventLogState{Name: "Security", RecordNumber: math.MaxUint64, Timestamp: ts,
		Bookmark: "<BookmarkList/>"})
	if ps := read(t, cp); len(ps.States) != 0 {
		t.Fatalf("written before Shutdown: %+v", ps.States)
	}
	cp.Shutdown()
	ps := read(t, cp)
	if len(ps.States) != 1 {
		t.Fatalf("after Shutdown the file holds %+v", ps.States)
	}
	want := EventLogState{"Security", math.MaxUint64, ts, "<BookmarkList/>"}
	sameState(t, ps.States[0], want)
	if ps.UpdateTime.IsZero() {
		t.Error("no update time")
	}
	sameState(t, cp.States()["Security"], want)

	cp.Persist("Late", 1, ts) // dropped
	cp.Shutdown()             // nothing
	if _, found := cp.States()["Late"]; found {
		t.Error("a state persisted after Shutdown is in States()")
	}
	// The lock went with Shutdown: the store opens again, as it was.
	cp = open(t, file, 100, time.Hour)
	defer cp.Shutdown()
	if states := cp.States(); len(states) != 1 {
		t.Errorf("reopened: %+v", states)
	}
	sameState(t, cp.States()["Security"], want)
}

// Values round trip exactly, time zones as instants.
func TestExactValues(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.yml")
	ist := time.FixedZone("IST", 5*3600+30*60)
	want := []EventLogState{ // in name order, as read() gives them
		{"Anwendung – Ereignisse ü 日本語", 1, time.Date(2024, 2, 29, 23, 59, 59, 999999999, ist), "line one\nline two\n"},
		{"Application", 0, time.Time{}, ""},
		{"key: value", math.MaxUint64, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "\"quoted\" 'single'"},
	}
	cp := open(t, file, 100, time.Hour)
	for _, s := range want {
		cp.PersistState(s)
	}
	cp.Shutdown()
	ps := read(t, cp)
	if len(ps.States) != len(want) {
		t.Fatalf("read %d states, want %d", len(ps.States), len(want))
	}
	for i := range want {
		sameState(t, ps.States[i], want[i])
	}
}

// Any config string, not only a path.
func TestConfigStrings(t *testing.T) {
	dir := t.TempDir()
	for _, file := range []string{
		"sqlite:" + filepath.Join(dir, "state.db"),
		"lmdb:" + filepath.Join(dir, "state.lmdb"),
		"json:" + filepath.Join(dir, "state.json"),
		filepath.Join(dir, "state.db"), // the same store as the first, by its extension
	} {
		cp := open(t, file, 1, time.Hour)
		cp.Persist("App", 7, time.Unix(1512486962, 5))
		cp.Shutdown()
		ps := read(t, cp)
		if len(ps.States) != 1 {
			t.Fatalf("%s holds %+v", file, ps.States)
		}
		sameState(t, ps.States[0], EventLogState{"App", 7, time.Unix(1512486962, 5), ""})
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewCheckpoint("nosuch:x", 1, time.Second); err == nil ||
		!strings.Contains(err.Error(), "nosuch") {
		t.Errorf("an unknown scheme: %v", err)
	}
	file := filepath.Join(t.TempDir(), ".winlogbeat.yml")
	cp := open(t, file, 1, time.Hour)
	defer cp.Shutdown()
	if _, err := NewCheckpoint(file, 1, time.Hour); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a second writer: %v", err)
	}
	// Dropped (and logged): what the store cannot hold.
	cp.Persist("", 1, time.Now())
	cp.Persist("bad \xff", 1, time.Now())
	cp.Persist("nul\x00name", 1, time.Now())
	cp.Persist("year zero", 1, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
	cp.PersistState(EventLogState{Name: "bad bookmark", Bookmark: "\xc3"})
	if states := cp.States(); len(states) != 0 {
		t.Errorf("states that cannot be stored were kept: %+v", states)
	}
}

func TestConcurrentPersist(t *testing.T) {
	cp := open(t, filepath.Join(t.TempDir(), "state.db"), 50, time.Hour)
	defer cp.Shutdown()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				cp.Persist(fmt.Sprintf("goroutine %d stream %d", g, i), uint64(i), time.Now())
				if i%50 == 0 {
					cp.States()
				}
			}
		}(g)
	}
	wg.Wait()
	if n := len(cp.States()); n != 8*200 {
		t.Errorf("%d states, want %d", n, 8*200)
	}
}

// The swap: the same .winlogbeat.yml read and written by Winlogbeat and by
// this package.
func TestWinlogbeatFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".winlogbeat.yml")
	copyFile(t, filepath.Join(fixtures, "winlogbeat_typical.yml"), file) // written by Winlogbeat
	cp := open(t, file, 100, time.Hour)
	states := cp.States()
	pst := time.FixedZone("PST", -8*3600)
	sysmon := "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"
	for _, want := range []EventLogState{
		{"Application", 250502, time.Date(2017, 12, 5, 15, 16, 2, 672130300, time.UTC), ""},
		{"Microsoft-Windows-Sysmon/Operational", 204, time.Date(2017, 11, 28, 0, 27, 30, 158887700, time.UTC), sysmon},
		{"Security", math.MaxUint64, time.Date(2017, 12, 5, 7, 16, 38, 253058800, pst), ""},
		{"System", 0, time.Time{}, ""},
	} {
		sameState(t, states[want.Name], want)
	}
	if len(states) != 4 {
		t.Errorf("%d states, want 4", len(states))
	}
	cp.Persist("Application", 250503, time.Date(2017, 12, 5, 15, 17, 0, 1, time.UTC))
	cp.PersistState(EventLogState{"Setup", 9, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "<b/>"})
	cp.Shutdown()

	// Winlogbeat's reader: yaml.Unmarshal into its PersistedState.
	const gopath = "/usr/share/gocode"
	if _, err := os.Stat(filepath.Join(gopath, "src", "gopkg.in", "yaml.v2")); err != nil {
		t.Skipf("Winlogbeat's reader needs gopkg.in/yaml.v2 in %s (golang-gopkg-yaml.v2-dev): %v", gopath, err)
	}
	reader := exec.Command("go", "run", filepath.Join(fixtures, "winlogbeat.go"), "load", file)
	reader.Env = append(os.Environ(), "GO111MODULE=off", "GOPATH="+gopath, "GOFLAGS=")
	out, err := reader.CombinedOutput()
	if err != nil {
		t.Fatalf("Winlogbeat's reader: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		`"Application" 250503 2017-12-05T15:17:00.000000001Z ""`,
		`"Microsoft-Windows-Sysmon/Operational" 204 2017-11-28T00:27:30.1588877Z "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>"`,
		`"Security" 18446744073709551615 2017-12-05T15:16:38.2530588Z ""`,
		`"Setup" 9 2020-01-01T00:00:00Z "<b/>"`,
		`"System" 0 0001-01-01T00:00:00Z ""`,
	}
	if len(lines) != len(want)+1 || !strings.HasPrefix(lines[0], "update_time 20") {
		t.Fatalf("Winlogbeat read:\n%s", out)
	}
	for i, line := range lines[1:] {
		if line != want[i] {
			t.Errorf("Winlogbeat read\n  %s\nwant\n  %s", line, want[i])
		}
	}
}
