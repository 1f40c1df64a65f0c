package io.github.tfl1l2.savedmodel.inline;

import java.util.List;
import org.tensorflow.Output;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;

/**
 * Inlines the generic member of a Keras implementation pair where a call names another member.
 *
 * <p>Keras 2 traces each {@code LSTM} and {@code GRU} call twice: a generic function ({@code
 * standard_lstm}, attribute {@code api_preferred_device: "CPU"}) and a cuDNN one ({@code
 * gpu_lstm_with_fallback}, {@code "GPU"}), both with the same {@code api_implements} (e.g. {@code
 * lstm_<uuid>}). The call site names one of them, and Grappler's implementation selector swaps in
 * the other where the call is placed on a GPU. The generic one is what can be inlined and
 * differentiated here: the cuDNN one runs {@code CudnnRNN} ops, which have no C++ gradient.
 */
final class ImplementationSelection implements NodeRewrite {
  private static final String IMPLEMENTS = "api_implements";
  private static final String DEVICE = "api_preferred_device";
  private static final String GENERIC = "CPU";

  @Override
  public boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner) {
    return FunctionInliner.CALL_OPS.contains(node.getOp()) && generic(node, inliner) != null;
  }

  @Override
  public List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner) {
    return inliner.inline(generic(node, inliner), inputs, path + "/");
  }

  /**
   * The generic member of the pair of {@code node}'s callee, where the callee is another member
   * with the same inputs and outputs; null otherwise (the callee is generic, or has no pair).
   */
  private static FunctionDef generic(NodeDef node, FunctionInliner inliner) {
    AttrValue f = node.getAttrMap().get("f");
    if (f == null || !f.hasFunc()) {
      return null;
    }
    FunctionDef callee;
    try {
      callee = inliner.function(f.getFunc().getName(), node.getName());
    } catch (RuntimeException e) {
      return null; // the inliner's own call path names the missing function
    }
    String api = string(callee, IMPLEMENTS);
    if (api.isEmpty() || string(callee, DEVICE).equals(GENERIC)) {
      return null;
    }
    for (FunctionDef candidate : inliner.functions()) {
      if (string(candidate, IMPLEMENTS).equals(api)
          && string(candidate, DEVICE).equals(GENERIC)
          && sameArity(candidate, callee)) {
        return candidate;
      }
    }
    return null;
  }

  private static boolean sameArity(FunctionDef a, FunctionDef b) {
    return a.getSignature().getInputArgCount() == b.getSignature().getInputArgCount()
        && a.getSignature().getOutputArgCount() == b.getSignature().getOutputArgCount();
  }

  private static String string(FunctionDef function, String attr) {
    AttrValue value = function.getAttrMap().get(attr);
    return value == null ? "" : value.getS().toStringUtf8();
  }
}
