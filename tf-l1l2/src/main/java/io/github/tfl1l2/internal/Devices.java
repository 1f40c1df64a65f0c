package io.github.tfl1l2.internal;

import java.util.Locale;
import org.tensorflow.DeviceSpec;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Scope;

/**
 * Where a parameter lives, so that what reads it in full is built beside it: {@link #deviceOf}
 * finds the device, {@link #on} places a scope there ({@link PinnedScope} pins one that may ignore
 * {@code withDevice}; which to use is written there).
 *
 * <p>Not API: public only because the penalty, its gradient and the optimizers place ops by the
 * same rule.
 */
public final class Devices {
  private Devices() {}

  /**
   * {@code scope} placed on {@code device}, or {@code scope} itself when there is none.
   *
   * @param scope a scope the library made itself from {@code Ops}, which honours {@code withDevice}
   * @param device where the ops built through the result run; null leaves {@code scope} as it is
   * @return {@code scope.withDevice(device)}, or {@code scope} when {@code device} is null
   */
  public static Scope on(Scope scope, DeviceSpec device) {
    return device == null ? scope : scope.withDevice(device);
  }

  /**
   * The device a graph parameter is pinned to: that of its op, or of the variable behind an
   * unpinned {@code Identity}/{@code ReadVariableOp} chain. Null when nothing is pinned, the
   * operand is eager, or the device string does not parse. Building the read and the partial sum
   * there keeps the weights on their device: only the scalar partial sum crosses devices.
   *
   * @param operand a parameter: a variable, a read of one, or any other operand
   * @return the first device set on {@code operand}'s op or on an op up its read chain, parsed by
   *     {@link #parseDevice}; null as said above
   */
  public static DeviceSpec deviceOf(Operand<?> operand) {
    for (Output<?> output = operand.asOutput();
        output != null;
        output = ReadChain.readFrom(output)) {
      if (!(output.op() instanceof GraphOperation op)) {
        return null;
      }
      if (!op.device().isEmpty()) {
        return parseDevice(op.device());
      }
    }
    return null;
  }

  /**
   * Parses {@code /job:J/replica:R/task:T/device:TYPE:INDEX} (any part optional, the legacy {@code
   * /gpu:1} form too); null for a type {@link DeviceSpec} lacks, e.g. {@code XLA_CPU}.
   *
   * @param device a device string as {@code GraphOperation.device()} gives it, e.g. {@code
   *     /job:worker/replica:0/task:1/device:GPU:0}; an index of {@code *} leaves the index unset
   * @return the parsed device, or null when any part does not parse
   */
  public static DeviceSpec parseDevice(String device) {
    DeviceSpec.Builder spec = DeviceSpec.newBuilder();
    try {
      for (String part : device.split("/")) {
        String[] f = part.split(":");
        switch (f[0].toLowerCase(Locale.ROOT)) {
          case "" -> {}
          case "job" -> spec.job(f[1]);
          case "replica" -> spec.replica(Integer.valueOf(f[1]));
          case "task" -> spec.task(Integer.valueOf(f[1]));
          default -> {
            int t = f[0].equalsIgnoreCase("device") ? 1 : 0;
            spec.deviceType(DeviceSpec.DeviceType.valueOf(f[t].toUpperCase(Locale.ROOT)));
            boolean indexed = f.length > t + 1 && !f[t + 1].equals("*");
            spec.deviceIndex(indexed ? Integer.valueOf(f[t + 1]) : null);
          }
        }
      }
    } catch (RuntimeException unparsable) {
      return null;
    }
    return spec.build();
  }
}
