/**
 * The benchmark harness of {@code tf-l1l2 bench}: {@link io.github.tfl1l2.bench.BenchCommand} times
 * the penalty against the framework's {@code L1L2}, a plain graph and TensorFlow's own read floor;
 * {@code TrainingSteps} times one training step built each way a user can build it.
 *
 * <p><b>May depend on:</b> the public API of {@code tf-l1l2} (with its optimizers), picocli,
 * TensorFlow-Java. Not on {@code cli} or {@code demo}.
 */
package io.github.tfl1l2.bench;
