package io.github.tfl1l2.savedmodel;

/**
 * A SavedModel cannot be read or written as asked. The message is one line that names the directory
 * and says what is wrong with it.
 */
public final class SavedModelException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception with a one-line {@code message}.
   *
   * @param message one line that names the directory and what is wrong with it
   */
  public SavedModelException(String message) {
    super(message);
  }

  /**
   * An exception with a one-line {@code message} and its cause.
   *
   * @param message one line that names the directory and what is wrong with it
   * @param cause the failure that led to it, whose first line {@code message} usually quotes
   *     ({@link #firstLine}); may be null
   */
  public SavedModelException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The first line of {@code failure}'s message, stripped, or {@code (no message)} when it has
   * none. TensorFlow's messages go on with stack traces and graph excerpts after the line that says
   * what failed; this is the rule by which every one-line message of this module, and of the {@code
   * tf-l1l2} command line, quotes another failure.
   *
   * @param failure any exception
   * @return one line, never empty
   */
  public static String firstLine(Throwable failure) {
    String message = failure.getMessage();
    if (message == null || message.isBlank()) {
      return "(no message)";
    }
    String trimmed = message.strip();
    int newline = trimmed.indexOf('\n');
    return newline < 0 ? trimmed : trimmed.substring(0, newline).strip();
  }
}
