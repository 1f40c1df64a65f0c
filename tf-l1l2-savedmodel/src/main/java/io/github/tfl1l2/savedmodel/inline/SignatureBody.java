package io.github.tfl1l2.savedmodel.inline;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.Output;

/**
 * What a signature computes, as ordinary ops of the loaded graph: its outputs by key, and the ops
 * between its inputs and variables and those outputs, each with its data inputs, so that {@link
 * GradientCoverage} can check every path from a variable to an output.
 *
 * @param outputs the signature's outputs by key, in key order
 * @param ops the ops that compute them (inputs before consumers where known)
 */
public record SignatureBody(Map<String, Output<?>> outputs, List<FunctionInliner.InlinedOp> ops) {
  /**
   * The names of the variables ({@code VarHandleOp}, {@code VariableV2}) that the ops read.
   *
   * @return a sorted set of op names
   */
  public Set<String> readVariables() {
    Set<String> read = new TreeSet<>();
    for (FunctionInliner.InlinedOp op : ops) {
      for (Output<?> input : op.inputs()) {
        String type = input.op().type();
        if (type.equals("VarHandleOp") || type.equals("VariableV2")) {
          read.add(input.op().name());
        }
      }
    }
    return read;
  }
}
