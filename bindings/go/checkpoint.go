// Package checkpoint persists per-stream read positions with the checkpoint
// library, behind the API of Winlogbeat's checkpoint package: a program
// written against that package changes its import line and nothing else.
//
//	cp, err := checkpoint.NewCheckpoint("/var/lib/winlogbeat/.winlogbeat.yml", 100, 5*time.Second)
//	if err != nil { ... }
//	defer cp.Shutdown()
//	start := cp.States()["Application"]           // where to resume
//	cp.Persist("Application", 250502, time.Now()) // in memory; committed in batches
//
// The file argument is a path, as in Winlogbeat (a .winlogbeat.yml file stays
// the same file, read and written by both), or any config string the
// library knows: "sqlite:/var/lib/shipper/state.db", "lmdb:...", "json:...".
// A path's extension picks the backend (.yml and .yaml: YAML).
//
// What differs from Winlogbeat's package, all in the library's favour:
// opening takes the store's writer lock (a second writer gets an error from
// NewCheckpoint), commits are atomic and synced (a crash or power cut keeps
// the last commit), and Persist never blocks on a full channel.
//
// The package is cgo over the library's C API (checkpoint/checkpoint.h),
// found with pkg-config (the checkpoint.pc of an installed library, or of a
// build tree through PKG_CONFIG_PATH). It uses nothing outside Go's
// standard library.
package checkpoint

/*
#cgo pkg-config: checkpoint
#include <stdlib.h>
#include <checkpoint/checkpoint.h>
*/
import "C"

import (
	"errors"
	"log"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// EventLogState is where a reader stopped in one stream.
type EventLogState struct {
	Name         string    `yaml:"name"`
	RecordNumber uint64    `yaml:"record_number"`
	Timestamp    time.Time `yaml:"timestamp"`
	Bookmark     string    `yaml:"bookmark,omitempty"`
}

// PersistedState is what a store holds: the time of its last commit and
// every state, sorted by name.
type PersistedState struct {
	UpdateTime time.Time       `yaml:"update_time"`
	States     []EventLogState `yaml:"event_logs"`
}

// Checkpoint holds the positions of a program's streams and commits them to
// its store in the background. Its methods are safe to call from any
// goroutine.
type Checkpoint struct {
	file string
	once sync.Once

	lock   sync.RWMutex             // held for writing only by Shutdown, which ends `handle`
	handle *C.checkpoint            // nil after Shutdown
	final  map[string]EventLogState // the states at Shutdown, for States() afterwards
}

// NewCheckpoint opens the store `file` names (making it, and its directory,
// if missing) and loads its states. Changes are committed once maxUpdates
// of them are pending, or `interval` after the first one, whichever comes
// first, and at Shutdown. maxUpdates below 1 is taken as 1 (a commit per
// change); intervals shorter than a second are taken as one second.
func NewCheckpoint(file string, maxUpdates int, interval time.Duration) (*Checkpoint, error) {
	if maxUpdates < 1 {
		maxUpdates = 1
	}
	intervalMs := interval.Milliseconds()
	if intervalMs < 1 {
		intervalMs = 1 // 0 would ask for the library's default
	}
	options := C.checkpoint_options{
		size:              C.size_t(unsafe.Sizeof(C.checkpoint_options{})),
		max_updates:       C.size_t(maxUpdates),
		flush_interval_ms: C.int64_t(intervalMs),
	}
	if strings.IndexByte(file, 0) >= 0 {
		return nil, errors.New("checkpoint: the file name holds a NUL byte")
	}
	uri := C.CString(file)
	defer C.free(unsafe.Pointer(uri))
	var handle *C.checkpoint
	var message *C.char
	if C.checkpoint_open(uri, &options, &handle, &message) != C.CHECKPOINT_OK {
		defer C.checkpoint_free(unsafe.Pointer(message))
		return nil, errors.New(C.GoString(message))
	}
	c := &Checkpoint{file: file, handle: handle}
	// A Checkpoint dropped without Shutdown still commits and unlocks.
	runtime.SetFinalizer(c, (*Checkpoint).Shutdown)
	return c, nil
}

// Shutdown commits what is pending and closes the store, releasing its
// lock. Afterwards States() returns the states as they were, and Persist
// does nothing. A second call does nothing.
func (c *Checkpoint) Shutdown() {
	c.once.Do(func() {
		c.lock.Lock()
		defer c.lock.Unlock()
		if err := c.call(func() C.int { return C.checkpoint_shutdown(c.handle) }); err != nil {
			log.Printf("checkpoint: the final commit failed: %v", err)
		}
		c.final = c.liveStates()
		if C.checkpoint_close(c.handle) != C.CHECKPOINT_OK {
			// Only the final commit can fail, and it was reported above.
			log.Printf("checkpoint: %s", C.GoString(C.checkpoint_errmsg(nil)))
		}
		c.handle = nil
		runtime.SetFinalizer(c, nil)
	})
}

// States returns a copy of every stream's state, as last persisted.
func (c *Checkpoint) States() map[string]EventLogState {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if c.handle == nil {
		copied := make(map[string]EventLogState, len(c.final))
		for name, state := range c.final {
			copied[name] = state
		}
		return copied
	}
	return c.liveStates()
}

// Persist records a stream's position (with no bookmark). It returns at
// once: the position is committed with the next batch.
func (c *Checkpoint) Persist(name string, recordNumber uint64, ts time.Time) {
	c.PersistState(EventLogState{Name: name, RecordNumber: recordNumber, Timestamp: ts})
}

// PersistState records a stream's state. A state the store cannot hold (an
// empty name, text that is not UTF-8 or holds a NUL byte, a time outside
// the years 1 to 9999) is logged and dropped, as is any after Shutdown.
func (c *Checkpoint) PersistState(st EventLogState) {
	c.lock.RLock()
	defer c.lock.RUnlock()
	if c.handle == nil {
		return
	}
	// C strings end at the first NUL: the library would get another name.
	if strings.IndexByte(st.Name, 0) >= 0 || strings.IndexByte(st.Bookmark, 0) >= 0 {
		log.Printf("checkpoint: state %q not persisted: its name or bookmark holds a NUL byte", st.Name)
		return
	}
	name := C.CString(st.Name)
	defer C.free(unsafe.Pointer(name))
	var bookmark *C.char
	if st.Bookmark != "" {
		bookmark = C.CString(st.Bookmark)
		defer C.free(unsafe.Pointer(bookmark))
	}
	seconds, nanos := st.Timestamp.Unix(), st.Timestamp.Nanosecond()
	err := c.call(func() C.int {
		return C.checkpoint_persist(c.handle, name, C.uint64_t(st.RecordNumber), C.int64_t(seconds),
			C.uint32_t(nanos), bookmark)
	})
	if err != nil {
		log.Printf("checkpoint: state %q not persisted: %v", st.Name, err)
	}
}

// call runs one C API call on the handle and returns its failure's message.
// The message is kept per OS thread, so the goroutine stays on its thread
// from the call to the reading of the message.
func (c *Checkpoint) call(f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if f() != C.CHECKPOINT_OK {
		return errors.New(C.GoString(C.checkpoint_errmsg(c.handle)))
	}
	return nil
}

// liveStates copies the handle's states; c.lock is held.
func (c *Checkpoint) liveStates() map[string]EventLogState {
	var list C.checkpoint_state_list
	if err := c.call(func() C.int { return C.checkpoint_states(c.handle, &list) }); err != nil {
		log.Printf("checkpoint: %v", err)
		return map[string]EventLogState{}
	}
	defer C.checkpoint_state_list_free(&list)
	states := make(map[string]EventLogState, int(list.count))
	for _, s := range fromList(list) {
		states[s.Name] = s
	}
	return states
}

// read returns what the store holds, read as another process would (the
// store opened for reading, beside this writer); a store that does not
// exist holds nothing.
func (c *Checkpoint) read() (*PersistedState, error) {
	uri := C.CString(c.file)
	defer C.free(unsafe.Pointer(uri))
	var list C.checkpoint_state_list
	var seconds C.int64_t
	var nanos C.uint32_t
	var message *C.char
	code := C.checkpoint_load(uri, &list, &seconds, &nanos, &message)
	if code == C.CHECKPOINT_NOT_FOUND {
		C.checkpoint_free(unsafe.Pointer(message))
		return &PersistedState{}, nil
	}
	if code != C.CHECKPOINT_OK {
		defer C.checkpoint_free(unsafe.Pointer(message))
		return nil, errors.New(C.GoString(message))
	}
	defer C.checkpoint_state_list_free(&list)
	return &PersistedState{
		UpdateTime: time.Unix(int64(seconds), int64(nanos)).UTC(),
		States:     fromList(list),
	}, nil
}

func fromList(list C.checkpoint_state_list) []EventLogState {
	if list.count == 0 {
		return nil
	}
	states := make([]EventLogState, 0, int(list.count))
	for _, s := range unsafe.Slice(list.states, int(list.count)) {
		states = append(states, EventLogState{
			Name:         C.GoString(s.name),
			RecordNumber: uint64(s.record_number),
			Timestamp:    time.Unix(int64(s.unix_seconds), int64(s.nanos)).UTC(),
			Bookmark:     C.GoString(s.bookmark),
		})
	}
	return states
}
