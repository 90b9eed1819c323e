public enum HTTPCorePlaceholder {}
