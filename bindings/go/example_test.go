package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	checkpoint "checkpoint/bindings/go"
)

// A program resumes each stream where the last run stopped.
func ExampleNewCheckpoint() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, ".winlogbeat.yml")

	cp, err := checkpoint.NewCheckpoint(file, 100, 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	cp.Persist("Application", 250502, time.Date(2017, 12, 5, 15, 16, 2, 0, time.UTC))
	cp.Shutdown() // the final commit

	// The next run.
	cp, err = checkpoint.NewCheckpoint(file, 100, 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cp.Shutdown()
	st := cp.States()["Application"]
	fmt.Println(st.Name, st.RecordNumber, st.Timestamp.Format(time.RFC3339))
	// Output: Application 250502 2017-12-05T15:16:02Z
}
