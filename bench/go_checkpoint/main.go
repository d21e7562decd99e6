// A benchmark-only stand-in for the Go package that checkpoint descends from
// (Winlogbeat's checkpoint): the same data structure (a map of states under
// a read-write mutex) and the same States(), which copies the map under the
// read lock. It measures what that costs on the states memory_bench and
// states_bench use, so that checkpoint's states() can be compared with it
// on the same machine in the same run. Written for this comparison; not a
// copy of Winlogbeat's code, and not a dependency of anything.
//
//	go run . -states 100000 -rounds 20
//
// It prints the median time of one States() call as Google Benchmark's JSON
// does, so that scripts/bench.sh can put it in the report beside states/N.
package main

import (
	"flag"
	"fmt"
	"sort"
	"sync"
	"time"
)

type EventLogState struct {
	Name         string
	RecordNumber uint64
	Timestamp    time.Time
	Bookmark     string
}

type Checkpoint struct {
	lock   sync.RWMutex
	states map[string]EventLogState
}

// States returns a copy of every state, made under the read lock.
func (c *Checkpoint) States() map[string]EventLogState {
	c.lock.RLock()
	defer c.lock.RUnlock()
	copy := make(map[string]EventLogState, len(c.states))
	for k, v := range c.states {
		copy[k] = v
	}
	return copy
}

// The states of bench/memory_bench.cpp: ~40-byte names, one in four with a
// 120-byte XML bookmark.
func makeState(i int) EventLogState {
	s := EventLogState{
		Name:         fmt.Sprintf("/var/log/containers/app-%08d_default_web.log", i),
		RecordNumber: uint64(i)*1000 + 7,
		Timestamp:    time.Unix(1714979289+int64(i), 100).UTC(),
	}
	if i%4 == 0 {
		s.Bookmark = fmt.Sprintf("<BookmarkList><Bookmark Channel='Application' RecordId='%010d' IsCurrent='true'/></BookmarkList>   ", i*7)
	}
	return s
}

func main() {
	n := flag.Int("states", 100000, "number of states")
	rounds := flag.Int("rounds", 20, "States() calls to time")
	flag.Parse()
	c := &Checkpoint{states: make(map[string]EventLogState, *n)}
	for i := 0; i < *n; i++ {
		s := makeState(i)
		c.states[s.Name] = s
	}
	var times []float64
	for r := 0; r < *rounds; r++ {
		start := time.Now()
		copy := c.States()
		elapsed := time.Since(start)
		if len(copy) != *n {
			panic("wrong size")
		}
		times = append(times, float64(elapsed.Microseconds())/1000)
	}
	sort.Float64s(times)
	// In the shape of Google Benchmark's JSON output, for bench_report.
	fmt.Printf("{\"benchmarks\": [{\"name\": \"go/states/%d\", \"run_type\": \"iteration\", "+
		"\"iterations\": %d, \"real_time\": %.3f, \"cpu_time\": %.3f, \"time_unit\": \"ms\"}]}\n",
		*n, *rounds, times[len(times)/2], times[len(times)/2])
}
