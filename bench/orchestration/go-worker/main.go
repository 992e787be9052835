// The orchestration benchmark's Go worker (bench/orchestration/run.ts): the same workflow and activity as the
// TypeScript worker (benchActivities(n, local) calling noop(i) n times, one after the other), registered under the
// same names on a task queue of their own, so the benchmark times the Go SDK's worker on the same server in the same
// run. It only serves: the benchmark starts the workflows, times them and reads their histories as it does for the
// TypeScript worker.
//
//	go-worker -address 127.0.0.1:7233 -namespace default -task-queue q
//
// Prints "ready" on stdout once its pollers run; stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Noop returns its argument and does no work: what a workflow spends calling it is the orchestration cost itself.
func Noop(_ context.Context, i int) (int, error) {
	return i, nil
}

// BenchActivities calls Noop n times sequentially, as regular or as local activities, and returns the sum of the
// results (the caller checks it). One attempt only, as in bench/orchestration/workflows.ts.
func BenchActivities(ctx workflow.Context, n int, local bool) (int, error) {
	retry := &temporal.RetryPolicy{MaximumAttempts: 1}
	if local {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         retry,
		})
	} else {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         retry,
		})
	}
	sum := 0
	for i := 0; i < n; i++ {
		var r int
		var err error
		if local {
			err = workflow.ExecuteLocalActivity(ctx, Noop, i).Get(ctx, &r)
		} else {
			err = workflow.ExecuteActivity(ctx, "noop", i).Get(ctx, &r)
		}
		if err != nil {
			return 0, err
		}
		sum += r
	}
	return sum, nil
}

func main() {
	address := flag.String("address", "127.0.0.1:7233", "the Temporal frontend, host:port")
	namespace := flag.String("namespace", "default", "the namespace")
	taskQueue := flag.String("task-queue", "", "the task queue to serve")
	flag.Parse()
	if *taskQueue == "" {
		fmt.Fprintln(os.Stderr, "go-worker: -task-queue is required")
		os.Exit(2)
	}
	c, err := client.Dial(client.Options{HostPort: *address, Namespace: *namespace})
	if err != nil {
		log.Fatalf("go-worker: cannot connect to %s: %v", *address, err)
	}
	defer c.Close()
	w := worker.New(c, *taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(BenchActivities, workflow.RegisterOptions{Name: "benchActivities"})
	w.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: "noop"})
	if err := w.Start(); err != nil {
		log.Fatalf("go-worker: cannot start: %v", err)
	}
	fmt.Println("ready")
	<-worker.InterruptCh()
	w.Stop()
}
