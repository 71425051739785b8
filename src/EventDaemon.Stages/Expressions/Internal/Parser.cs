namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// Recursive descent over the token list, checking types as it builds. Precedence, loosest first:
/// <c>||</c>, <c>&amp;&amp;</c>, comparison and <c>in</c> (which do not chain), <c>!</c>.
/// </summary>
internal sealed class Parser
{
    // Bounds the recursion of the parser and of the code generator: parentheses, '!' and call
    // arguments each take one level. Far beyond any hand-written filter, far below a stack overflow.
    internal const int MaxDepth = 100;

    // Longest source excerpt quoted in a message before it is shortened with "...".
    private const int MaxQuoted = 40;

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _position;
    private int _depth;

    private Parser(string text, List<Token> tokens)
    {
        _text = text;
        _tokens = tokens;
    }

    private Token Current => _tokens[_position];

    public static SyntaxNode Parse(string text)
    {
        List<Token> tokens = Lexer.Tokenize(text);
        if (tokens[0].Kind == TokenKind.End)
        {
            throw new CompileException(ExpressionErrorCode.EmptyExpression, "the expression is empty", 0);
        }

        var parser = new Parser(text, tokens);
        SyntaxNode root = parser.ParseOr();
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Unexpected(parser.Current, "expected '&&', '||' or the end of the expression");
        }

        if (!root.IsCondition)
        {
            string src = parser.Quote(root);
            throw new CompileException(
                ExpressionErrorCode.NotACondition,
                $"the expression must be a condition, but '{src}' is a value; compare it, e.g. '{src} == ...'",
                root.Start);
        }

        return root;
    }

    private SyntaxNode ParseOr()
    {
        SyntaxNode first = ParseAnd();
        if (Current.Kind != TokenKind.Or)
        {
            return first;
        }

        var operands = new List<SyntaxNode> { RequireCondition(first, "||") };
        while (Current.Kind == TokenKind.Or)
        {
            Advance();
            operands.Add(RequireCondition(ParseAnd(), "||"));
        }

        return new LogicalNode(isAnd: false, operands);
    }

    private SyntaxNode ParseAnd()
    {
        SyntaxNode first = ParseComparison();
        if (Current.Kind != TokenKind.And)
        {
            return first;
        }

        var operands = new List<SyntaxNode> { RequireCondition(first, "&&") };
        while (Current.Kind == TokenKind.And)
        {
            Advance();
            operands.Add(RequireCondition(ParseComparison(), "&&"));
        }

        return new LogicalNode(isAnd: true, operands);
    }

    private SyntaxNode ParseComparison()
    {
        SyntaxNode left = ParseUnary();
        SyntaxNode result;
        if (TryGetCompareOp(Current.Kind, out CompareOp op))
        {
            Token opToken = Advance();
            RequireValue(left, opToken);
            SyntaxNode right = ParseUnary();
            RequireValue(right, opToken);
            result = new CompareNode(left, op, right);
        }
        else if (IsKeyword(Current, "in"))
        {
            Token inToken = Advance();
            RequireValue(left, inToken);
            result = ParseList(left);
        }
        else
        {
            return left;
        }

        if (TryGetCompareOp(Current.Kind, out _) || IsKeyword(Current, "in"))
        {
            throw new CompileException(
                ExpressionErrorCode.ChainedComparison,
                $"comparisons do not chain: '{TokenText(Current)}' follows a comparison; join two comparisons with '&&', e.g. 'a < b && b < c'",
                Current.Start);
        }

        return result;
    }

    private SyntaxNode ParseUnary()
    {
        if (Current.Kind != TokenKind.Not)
        {
            return ParsePrimary();
        }

        int start = Advance().Start;
        Enter(start);
        SyntaxNode operand = ParseUnary();
        _depth--;
        if (!operand.IsCondition)
        {
            string src = Quote(operand);
            throw new CompileException(
                ExpressionErrorCode.NotACondition,
                $"'!' negates a condition, but '{src}' is a value; '!' binds tighter than comparisons, so write '!({src} == ...)'",
                operand.Start);
        }

        return new NotNode(start, operand);
    }

    private SyntaxNode ParsePrimary()
    {
        Token token = Current;
        switch (token.Kind)
        {
            case TokenKind.LeftParen:
                {
                    Advance();
                    Enter(token.Start);
                    SyntaxNode inner = ParseOr();
                    _depth--;
                    Expect(TokenKind.RightParen, "expected ')' to close the '('");
                    return inner;
                }

            case TokenKind.Field:
                Advance();
                return new OperandNode(token.Start, token.End, OperandKind.Field, token.Text);
            case TokenKind.String:
            case TokenKind.Number:
                Advance();
                return ToLiteral(token);
            case TokenKind.Identifier:
                if (_tokens[_position + 1].Kind == TokenKind.LeftParen)
                {
                    return ParseCall();
                }

                Advance();
                switch (token.Text)
                {
                    case "type": return new OperandNode(token.Start, token.End, OperandKind.Type, null);
                    case "key": return new OperandNode(token.Start, token.End, OperandKind.Key, null);
                    case "value": return new OperandNode(token.Start, token.End, OperandKind.Value, null);
                    case "ts": return new OperandNode(token.Start, token.End, OperandKind.Timestamp, null);
                    case "true":
                    case "false":
                    case "null":
                        return ToLiteral(token);
                    case "in":
                        throw Unexpected(token, "expected a value before 'in'");
                    default:
                        throw new CompileException(
                            ExpressionErrorCode.UnknownName,
                            $"unknown name '{token.Text}': a JSON field is written '.{token.Text}'; the built-in operands are type, key, value and ts",
                            token.Start);
                }

            default:
                throw Unexpected(token, "expected a value or a condition");
        }
    }

    private CallNode ParseCall()
    {
        Token name = Advance();
        (FunctionKind function, int arity) = name.Text switch
        {
            "starts_with" => (FunctionKind.StartsWith, 2),
            "contains" => (FunctionKind.Contains, 2),
            "exists" => (FunctionKind.Exists, 1),
            _ => throw new CompileException(
                ExpressionErrorCode.UnknownFunction,
                $"unknown function '{name.Text}'; the functions are starts_with(a, b), contains(a, b) and exists(.field)",
                name.Start),
        };

        Advance(); // '('
        var arguments = new List<SyntaxNode>();
        if (Current.Kind != TokenKind.RightParen)
        {
            while (true)
            {
                Enter(Current.Start);
                arguments.Add(ParseOr());
                _depth--;
                if (Current.Kind != TokenKind.Comma)
                {
                    break;
                }

                Advance();
            }
        }

        Token close = Expect(TokenKind.RightParen, $"expected ',' or ')' in the arguments of {name.Text}");
        if (arguments.Count != arity)
        {
            throw new CompileException(
                ExpressionErrorCode.WrongArgumentCount,
                $"{name.Text} takes {arity} argument{(arity == 1 ? "" : "s")}, but was given {arguments.Count}",
                name.Start);
        }

        for (int i = 0; i < arguments.Count; i++)
        {
            SyntaxNode argument = arguments[i];
            if (function == FunctionKind.Exists)
            {
                if (argument is not OperandNode)
                {
                    throw new CompileException(
                        ExpressionErrorCode.ArgumentType,
                        $"exists takes a field (type, key, value, ts or .name), not {DescribeArgument(argument)}",
                        argument.Start);
                }
            }
            else if (!IsStringCapable(argument))
            {
                throw new CompileException(
                    ExpressionErrorCode.ArgumentType,
                    $"argument {i + 1} of {name.Text} must be a string (type, key, .field or a \"literal\"), not {DescribeArgument(argument)}",
                    argument.Start);
            }
        }

        return new CallNode(name.Start, close.End, function, [.. arguments]);
    }

    private InNode ParseList(SyntaxNode left)
    {
        Expect(TokenKind.LeftBracket, "expected '[' to start the list after 'in'");
        var items = new List<LiteralNode>();
        while (Current.Kind != TokenKind.RightBracket)
        {
            Token token = Current;
            bool isLiteral = token.Kind is TokenKind.String or TokenKind.Number
                || (token.Kind == TokenKind.Identifier && token.Text is "true" or "false" or "null");
            if (!isLiteral)
            {
                throw Unexpected(token, "a list holds only literals: strings, numbers, true, false or null");
            }

            Advance();
            items.Add(ToLiteral(token));
            if (Current.Kind == TokenKind.Comma)
            {
                Advance();
            }
            else if (Current.Kind != TokenKind.RightBracket)
            {
                throw Unexpected(Current, "expected ',' or ']' in the list");
            }
        }

        Token close = Advance();
        return new InNode(left, items, close.End);
    }

    private static LiteralNode ToLiteral(Token token) => token.Kind switch
    {
        TokenKind.String => new LiteralNode(token.Start, token.End, ScalarKind.String, token.Text),
        TokenKind.Number => new LiteralNode(token.Start, token.End, ScalarKind.Number, token.Text, token.Number, token.Integer, token.IsInteger),
        _ => token.Text switch
        {
            "true" => new LiteralNode(token.Start, token.End, ScalarKind.True),
            "false" => new LiteralNode(token.Start, token.End, ScalarKind.False),
            _ => new LiteralNode(token.Start, token.End, ScalarKind.Null),
        },
    };

    /// <summary>Arguments of starts_with/contains: anything that can hold a string for some event.</summary>
    private static bool IsStringCapable(SyntaxNode node) => node switch
    {
        OperandNode operand => operand.Kind is OperandKind.Type or OperandKind.Key or OperandKind.Field,
        LiteralNode literal => literal.Kind == ScalarKind.String,
        _ => false,
    };

    private string DescribeArgument(SyntaxNode node) => node switch
    {
        OperandNode { Kind: OperandKind.Value } => "value, which is always a number",
        OperandNode { Kind: OperandKind.Timestamp } => "ts, which is always a number",
        LiteralNode { Kind: ScalarKind.String } => $"the string literal '{Quote(node)}'",
        LiteralNode { Kind: ScalarKind.Number } => $"the number {Quote(node)}",
        LiteralNode => $"the literal {Quote(node)}",
        _ => $"the condition '{Quote(node)}'",
    };

    private SyntaxNode RequireCondition(SyntaxNode node, string op)
    {
        if (!node.IsCondition)
        {
            string src = Quote(node);
            throw new CompileException(
                ExpressionErrorCode.NotACondition,
                $"'{src}' is a value, but '{op}' joins conditions; compare it, e.g. '{src} == ...'",
                node.Start);
        }

        return node;
    }

    private void RequireValue(SyntaxNode node, Token op)
    {
        if (!node.IsValue)
        {
            throw new CompileException(
                ExpressionErrorCode.ConditionAsValue,
                $"'{TokenText(op)}' compares values, but '{Quote(node)}' is a condition",
                node.Start);
        }
    }

    private static bool TryGetCompareOp(TokenKind kind, out CompareOp op)
    {
        op = kind switch
        {
            TokenKind.Equal => CompareOp.Equal,
            TokenKind.NotEqual => CompareOp.NotEqual,
            TokenKind.Less => CompareOp.Less,
            TokenKind.LessOrEqual => CompareOp.LessOrEqual,
            TokenKind.Greater => CompareOp.Greater,
            TokenKind.GreaterOrEqual => CompareOp.GreaterOrEqual,
            _ => (CompareOp)255,
        };
        return op != (CompareOp)255;
    }

    private static bool IsKeyword(Token token, string word) => token.Kind == TokenKind.Identifier && token.Text == word;

    private void Enter(int offset)
    {
        if (++_depth > MaxDepth)
        {
            throw new CompileException(ExpressionErrorCode.TooDeep, $"the expression nests more than {MaxDepth} levels deep", offset);
        }
    }

    private Token Advance()
    {
        Token token = _tokens[_position];
        if (token.Kind != TokenKind.End)
        {
            _position++;
        }

        return token;
    }

    private Token Expect(TokenKind kind, string expectation)
    {
        if (Current.Kind != kind)
        {
            throw Unexpected(Current, expectation);
        }

        return Advance();
    }

    private CompileException Unexpected(Token token, string expectation) => token.Kind == TokenKind.End
        ? new CompileException(ExpressionErrorCode.UnexpectedEnd, $"unexpected end of the expression; {expectation}", token.Start)
        : new CompileException(ExpressionErrorCode.UnexpectedToken, $"unexpected '{TokenText(token)}'; {expectation}", token.Start);

    private string TokenText(Token token) => Shorten(_text[token.Start..token.End]);

    private string Quote(SyntaxNode node) => Shorten(_text[node.Start..node.End]);

    private static string Shorten(string s)
    {
        s = s.ReplaceLineEndings(" ");
        return s.Length <= MaxQuoted ? s : string.Concat(s.AsSpan(0, MaxQuoted - 3), "...");
    }
}
