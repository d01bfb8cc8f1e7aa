from django import forms


class SignupForm(forms.Form):
    username = forms.CharField(max_length=30, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    display_name = forms.CharField(max_length=80, required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class CommentForm(forms.Form):
    body = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Add a comment"}))


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False)
    bio = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3}))
