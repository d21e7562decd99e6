module checkpoint/bindings/go

go 1.19
