module checkpoint/bench/go_checkpoint

go 1.19
