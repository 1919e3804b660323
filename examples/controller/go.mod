module github.com/goipvsadm/goipvsadm/examples/controller

go 1.26.0

require github.com/goipvsadm/goipvsadm v0.0.0-00010101000000-000000000000

replace github.com/goipvsadm/goipvsadm => ../..
