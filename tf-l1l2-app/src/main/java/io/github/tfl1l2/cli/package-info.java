/**
 * The {@code tf-l1l2} command line (picocli): {@link io.github.tfl1l2.cli.Main} and one command per
 * job, {@link io.github.tfl1l2.cli.PenaltyCommand}, {@link io.github.tfl1l2.cli.RegularizeCommand},
 * {@link io.github.tfl1l2.cli.ExportExampleCommand}, {@link io.github.tfl1l2.cli.ServerCommand}
 * (the {@code demo} and {@code bench} commands live in their own packages).
 *
 * <p><b>Package-private, by role:</b> {@code RegularizerOptions} (the options {@code penalty} and
 * {@code regularize} share, checked here in the command line's words), {@code ClusterSpec}; child
 * JVMs and their supervision: {@code ChildJvm}, {@code IsolatedCommand}, {@code RelayedCommand},
 * {@code NativeLog}, {@code ListeningSockets}; failures as one line and an exit status: {@code
 * CommandFailure}, {@code Failures}.
 *
 * <p><b>May depend on:</b> the public API of {@code tf-l1l2} and {@code tf-l1l2-savedmodel}, {@code
 * io.github.tfl1l2.demo} and {@code io.github.tfl1l2.bench} (their commands), picocli, gson,
 * TensorFlow-Java with its natives. Nothing depends on it.
 */
package io.github.tfl1l2.cli;
