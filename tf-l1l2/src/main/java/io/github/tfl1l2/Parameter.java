package io.github.tfl1l2;

import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.internal.ReadChain;
import org.tensorflow.DeviceSpec;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.proto.DataType;

/**
 * One parameter handed to {@code L1L2}: the tensor to regularize, the name that {@code on(regex)}
 * matches, its element type with any reference flag stripped, and the device it is pinned to (null
 * when none).
 */
record Parameter(String name, Operand<?> operand, DataType dtype, DeviceSpec device) {

  /**
   * Validates {@code operand} as the parameter at {@code index} and describes it.
   *
   * @throws NullPointerException if {@code operand} is null
   * @throws IllegalArgumentException if it is not floating or belongs to another environment
   */
  static Parameter of(String name, Operand<?> operand, int index, ExecutionEnvironment env) {
    return of("parameters", name, operand, index, env);
  }

  /**
   * Validates {@code operand} as element {@code index} of the argument {@code argument} (named so
   * in error messages) and describes it.
   */
  static Parameter of(
      String argument, String name, Operand<?> operand, int index, ExecutionEnvironment env) {
    if (operand == null) {
      throw new NullPointerException(
          argument + "[" + index + "]" + (name == null ? "" : " (\"" + name + "\")") + " is null");
    }
    String label = name != null ? name : defaultName(operand);
    if (operand.op().env() != env) {
      throw new IllegalArgumentException(
          describe(argument, index, operand)
              + " belongs to another execution environment ("
              + operand.op().env().environmentType()
              + " "
              + Integer.toHexString(System.identityHashCode(operand.op().env()))
              + "); only operands of the Ops' own "
              + env.environmentType()
              + " environment are allowed");
    }
    DataType dtype =
        FloatingTypes.requireFloating(
            describe(argument, index, operand),
            FloatingTypes.baseOf(operand.asOutput().dataType()));
    return new Parameter(label, operand, dtype, Devices.deviceOf(operand));
  }

  /**
   * The name {@code on(regex)} matches for an unnamed operand: its op name, with {@code :index} for
   * outputs past the first. A graph read ({@code Identity}, {@code ReadVariableOp}) is named after
   * what it reads, so {@code tf.identity(kernel)} still matches {@code on("kernel")}.
   */
  private static String defaultName(Operand<?> operand) {
    Output<?> output = ReadChain.sourceOf(operand);
    int index = output.index();
    return index == 0 ? output.op().name() : output.op().name() + ":" + index;
  }

  /** How messages name the operand at {@code index}: {@code parameters[2] (op "dense/kernel")}. */
  private static String describe(String argument, int index, Operand<?> operand) {
    return argument + "[" + index + "] (op \"" + operand.op().name() + "\")";
  }
}
